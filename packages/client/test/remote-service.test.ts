import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileStateStore, loadCatalog, SandboxManager } from '@sand-boxer/core';
import { type RunningServer, startServer } from '@sand-boxer/server';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { reviveError } from '../src/connection.js';
import { RemoteService } from '../src/remote-service.js';

/** The client against a real `serve` (in this process, on 127.0.0.1, the embedded backend). */

const TOKEN = 'client-test-token-0123456789';
let server: RunningServer;
let remote: RemoteService;
const dir = mkdtempSync(join(tmpdir(), 'sbx-client-'));

beforeAll(async () => {
  mkdirSync(join(dir, 'repo'));
  writeFileSync(join(dir, 'repo', 'README.md'), 'hi\n');
  const home = join(dir, 'home');
  const manager = new SandboxManager({
    catalog: () => loadCatalog({ userDirs: [] }),
    store: new FileStateStore(home),
    home,
    inputs: { baseDir: dir, confined: true },
    initialCredits: 100,
  });
  server = await startServer({ manager, host: '127.0.0.1', port: 0, tokens: [TOKEN] });
  remote = new RemoteService({ url: server.url, token: TOKEN });
});
afterAll(async () => {
  await server?.close(5000);
});

describe('RemoteService', () => {
  test('create follows the server until ready, printing its progress; the record has no server fields', async () => {
    const progress: string[] = [];
    const records: string[] = [];
    const record = await remote.create(
      { profile: 'saas-stub', inputs: { repo: 'repo' }, consumer: 'client-test' },
      { progress: (line) => progress.push(line), onRecord: (r) => void records.push(r.state) },
    );
    expect(record).toMatchObject({ state: 'ready', consumer: 'client-test' });
    expect(record).not.toHaveProperty('operation');
    expect(progress.some((l) => /: ready in [\d.]+ s \(synced [\d.]+ s → ready [\d.]+ s\)$/.test(l))).toBe(
      true,
    );
    expect(records[0]).toBe('provisioning');
    expect((await remote.list()).map((r) => r.id)).toContain(record.id);
    expect((await remote.get(record.id)).id).toBe(record.id);
    expect((await remote.extend(record.id, '10m')).expires_at).not.toBe(record.expires_at);
    expect((await remote.destroy(record.id)).state).toBe('destroyed');
  });

  test('typed errors keep their code (so the CLI exits the same); credits and reports', async () => {
    await expect(remote.get('zzzzzzzzzzzz')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(remote.create({ profile: 'no-such-profile' })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect((await remote.estimateReport('saas-stub', '10m')).quote?.credits).toBe(5);
    expect(
      (await remote.routeReport({ profile: 'saas-stub', inputs: { repo: 'repo' } })).chosen?.extension,
    ).toBe('ext.saas-stub');
    await remote.credits.grant('client-test', 5, 'top up');
    expect((await remote.credits.history('client-test')).map((e) => e.kind)).toContain('grant');
    expect((await remote.credits.billing({ account: 'client-test' })).length).toBeGreaterThan(2);
  });

  test('a wrong token is UNAUTHORIZED; an unreachable server is STATE_UNAVAILABLE', async () => {
    await expect(
      new RemoteService({ url: server.url, token: 'wrong-token-0123456789' }).list(),
    ).rejects.toMatchObject({
      code: 'UNAUTHORIZED',
    });
    await expect(new RemoteService({ url: 'http://127.0.0.1:1' }).list()).rejects.toMatchObject({
      code: 'STATE_UNAVAILABLE',
    });
    expect(() => new RemoteService({ url: 'ftp://x' })).toThrow(/expected an http\(s\):\/\/ URL/);
  });

  test('reviveError: codes of ours keep theirs; other 4xx are input errors; 5xx a plain error', () => {
    expect(
      reviveError(402, { code: 'INSUFFICIENT_CREDITS', message: 'no', details: { account: 'a' } }),
    ).toMatchObject({
      code: 'INSUFFICIENT_CREDITS',
      details: { account: 'a' },
    });
    expect(reviveError(413, { code: 'PAYLOAD_TOO_LARGE', message: 'big' })).toMatchObject({
      code: 'INPUT_INVALID',
    });
    expect(reviveError(500, { code: 'INTERNAL', message: 'internal error 1234' }).message).toMatch(
      /server failed \(500\)/,
    );
  });
});
