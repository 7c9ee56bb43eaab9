import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  FileStateStore,
  loadCatalog,
  SandboxManager,
  SnapshotCorruptError,
  UnsupportedError,
} from '@sand-boxer/core';
import { expect, test } from 'vitest';
import { createApp } from '../src/app.js';
import { errorResponse } from '../src/http-errors.js';

const TOKEN = 'snap-token-0123456789';
const auth = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' };

test.each([
  [new UnsupportedError('x'), 422],
  [new SnapshotCorruptError('x'), 422],
])('%o → %i', (error, status) => expect(errorResponse(error).status).toBe(status));

test('snapshot, list, show, restore (new and in place) and delete over HTTP on the embedded backend', async () => {
  const home = mkdtempSync(join(tmpdir(), 'sbx-http-snap-'));
  const repo = mkdtempSync(join(tmpdir(), 'sbx-http-repo-'));
  writeFileSync(join(repo, 'v.txt'), 'A');
  const manager = new SandboxManager({
    catalog: () => loadCatalog({ userDirs: [] }),
    store: new FileStateStore(home),
    home,
    initialCredits: 100,
    inputs: { baseDir: tmpdir(), confined: true },
  });
  const app = createApp({ manager, tokens: [TOKEN] });
  const call = async (method: string, path: string, body?: unknown) => {
    const response = await app.request(path, {
      method,
      headers: auth,
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    // biome-ignore lint/suspicious/noExplicitAny: the test asserts the shapes it reads.
    return { status: response.status, body: (await response.json()) as Record<string, any> };
  };

  const created = await call('POST', '/v1/sandboxes?wait=true', { profile: 'saas-stub', inputs: { repo } });
  expect(created.status).toBe(201);
  const workspace = created.body.reachability.remote_dir as string;

  const snap = await call('POST', `/v1/sandboxes/${created.body.id}/snapshots`, { name: 'first' });
  expect(snap.status).toBe(201);
  expect(snap.body).toMatchObject({ status: 'ready', name: 'first', sandbox_id: created.body.id });
  expect((await call('GET', '/v1/snapshots')).body).toHaveLength(1);
  expect((await call('GET', '/v1/snapshots/first')).body.id).toBe(snap.body.id);
  expect((await call('POST', '/v1/sandboxes/nope/snapshots', {})).status).toBe(400);
  expect((await call('GET', '/v1/snapshots/missing')).status).toBe(404);

  writeFileSync(join(workspace, 'v.txt'), 'B');
  const restored = await call('POST', `/v1/snapshots/${snap.body.id}/restore`, {});
  expect(restored.status).toBe(201);
  expect(restored.body.restored_from).toBe(snap.body.id);
  expect(readFileSync(join(restored.body.reachability.remote_dir, 'v.txt'), 'utf8')).toBe('A');

  const inPlace = await call('POST', '/v1/snapshots/first/restore', { mode: 'in-place' });
  expect(inPlace.status).toBe(201);
  expect(inPlace.body.id).toBe(created.body.id);
  expect(readFileSync(join(workspace, 'v.txt'), 'utf8')).toBe('A');
  expect((await call('POST', '/v1/snapshots/first/restore', { host: 'x@evil' })).status).toBe(400);

  expect((await call('DELETE', '/v1/snapshots/first')).body.status).toBe('deleted');
  expect((await call('POST', '/v1/snapshots/first/restore', {})).status).toBe(409);
  const spec = (await (await app.request('/openapi.json')).json()) as { paths: Record<string, unknown> };
  expect(Object.keys(spec.paths)).toEqual(
    expect.arrayContaining(['/v1/sandboxes/{id}/snapshots', '/v1/snapshots', '/v1/snapshots/{ref}/restore']),
  );
});
