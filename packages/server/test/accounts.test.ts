import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileStateStore, loadCatalog, SandboxManager } from '@sand-boxer/core';
import { afterAll, describe, expect, test } from 'vitest';
import { createApp } from '../src/app.js';
import { loadAuthFile } from '../src/auth/credentials.js';
import { Operations } from '../src/operations.js';

/**
 * Tokens scoped per account (`serve --auth-file`): a member works inside its account, an admin
 * across all. In process, on the embedded backend; against PostgreSQL and two replicas in
 * tests/e2e/control-plane.itg.test.ts.
 */

const A = 'member-a-token-0123456789';
const B = 'member-b-token-0123456789';
const ADMIN = 'admin-token-0123456789abc';
const dir = mkdtempSync(join(tmpdir(), 'sbx-accounts-'));
mkdirSync(join(dir, 'repo'));
writeFileSync(join(dir, 'repo', 'README.md'), 'hello\n');
const authFile = join(dir, 'auth.yaml');
writeFileSync(
  authFile,
  `tokens:
  - { token: "${A}", account: team-a, role: member }
  - { sha256: "${createHash('sha256').update(B).digest('hex')}", account: team-b }
  - { token: "${ADMIN}", account: ops, role: admin }
`,
);
const home = join(dir, 'home');
const manager = new SandboxManager({
  catalog: () => loadCatalog({ userDirs: [] }),
  store: new FileStateStore(home),
  home,
  inputs: { baseDir: dir, confined: true },
  initialCredits: 0,
});
const operations = new Operations();
const log: string[] = [];
const app = createApp({ manager, credentials: loadAuthFile(authFile), operations, log: (l) => log.push(l) });
afterAll(() => operations.drain(10_000));

async function call(token: string | undefined, method: string, path: string, body?: unknown) {
  const response = await app.request(path, {
    method,
    headers: {
      'content-type': 'application/json',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  // biome-ignore lint/suspicious/noExplicitAny: the tests assert the shapes they read.
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    json = text;
  }
  return { status: response.status, json, text, type: response.headers.get('content-type') ?? '' };
}

const create = (token: string, extra: Record<string, unknown> = {}) =>
  call(token, 'POST', '/v1/sandboxes?wait=true', {
    profile: 'saas-stub',
    inputs: { repo: 'repo' },
    ...extra,
  });

describe('an auth file: tokens by account and role', () => {
  test('new accounts start with nothing; a member cannot grant, an admin can', async () => {
    expect((await create(A)).json).toMatchObject({ code: 'INSUFFICIENT_CREDITS' });
    expect((await call(A, 'POST', '/v1/credits/team-a/grants', { amount: 50 })).status).toBe(403);
    expect((await call(ADMIN, 'POST', '/v1/credits/team-a/grants', { amount: 50 })).status).toBe(201);
    expect((await call(ADMIN, 'POST', '/v1/credits/team-b/grants', { amount: 50 })).status).toBe(201);
  });

  test("a member's sandbox pays from its account, and is invisible to another member", async () => {
    const mine = await create(A, { consumer: 'acme/app#1.1/e2e' });
    expect(mine.status).toBe(201);
    expect(mine.json).toMatchObject({ account: 'team-a', consumer: 'acme/app#1.1/e2e', state: 'ready' });
    const id = mine.json.id as string;
    for (const [method, path, body] of [
      ['GET', `/v1/sandboxes/${id}`],
      ['DELETE', `/v1/sandboxes/${id}`],
      ['POST', `/v1/sandboxes/${id}/snapshots`, {}],
      ['POST', `/v1/sandboxes/${id}/exec`, { argv: ['true'] }],
      ['GET', `/v1/sandboxes/${id}/logs`],
      ['POST', `/v1/sandboxes/${id}/lease`, {}],
    ] as Array<[string, string, unknown?]>) {
      const response = await call(B, method, path, body);
      expect(response.status, `${method} ${path}`).toBe(404);
      expect(response.json.message).not.toContain('team-a');
    }
    expect((await call(B, 'GET', '/v1/sandboxes')).json).toEqual([]);
    expect((await call(A, 'GET', '/v1/sandboxes')).json.map((r: { id: string }) => r.id)).toEqual([id]);
    expect((await call(ADMIN, 'GET', '/v1/sandboxes')).json.map((r: { id: string }) => r.id)).toContain(id);
    expect((await call(A, 'DELETE', `/v1/sandboxes/${id}`)).json.state).toBe('destroyed');
  });

  test('a member cannot spend from, or read, another account', async () => {
    const other = await create(B, { account: 'team-a' });
    expect(other.status).toBe(403);
    expect(other.json).toMatchObject({ code: 'FORBIDDEN', details: { field: 'account' } });
    expect((await call(B, 'GET', '/v1/credits/team-a')).status).toBe(403);
    expect((await call(B, 'GET', '/v1/credits/team-a/history')).status).toBe(403);
    expect(
      (await call(B, 'GET', '/v1/route?profile=saas-stub&input=repo%3Drepo&account=team-a')).status,
    ).toBe(403);
    expect((await call(B, 'GET', '/v1/credits')).json.map((b: { account: string }) => b.account)).toEqual([
      'team-b',
    ]);
    expect((await call(ADMIN, 'GET', '/v1/credits')).json.map((b: { account: string }) => b.account)).toEqual(
      ['team-a', 'team-b'],
    );
  });

  test('snapshots follow their sandbox: a member sees and restores only its own', async () => {
    const made = await create(A);
    const snap = await call(A, 'POST', `/v1/sandboxes/${made.json.id}/snapshots`, { name: 'a-snap' });
    expect(snap.status).toBe(201);
    expect(snap.json.account).toBe('team-a');
    expect((await call(B, 'GET', `/v1/snapshots/${snap.json.id}`)).status).toBe(404);
    expect((await call(B, 'GET', '/v1/snapshots/a-snap')).status).toBe(404);
    expect((await call(B, 'POST', `/v1/snapshots/${snap.json.id}/restore`, {})).status).toBe(404);
    expect((await call(B, 'DELETE', `/v1/snapshots/${snap.json.id}`)).status).toBe(404);
    expect((await call(B, 'GET', '/v1/snapshots')).json).toEqual([]);
    expect((await call(A, 'GET', '/v1/snapshots')).json.map((s: { id: string }) => s.id)).toEqual([
      snap.json.id,
    ]);
    await call(A, 'DELETE', `/v1/snapshots/${snap.json.id}`);
    await call(A, 'DELETE', `/v1/sandboxes/${made.json.id}`);
  });

  test('a missing or wrong token is 401; the log names tokens by label only', async () => {
    expect((await call(undefined, 'GET', '/v1/sandboxes')).status).toBe(401);
    expect((await call('not-a-token-at-all-xxxx', 'GET', '/v1/sandboxes')).status).toBe(401);
    const lines = log.join('\n');
    expect(lines).toContain('token #1 (team-a)');
    for (const secret of [A, B, ADMIN]) expect(lines).not.toContain(secret);
  });
});

describe('the billing export', () => {
  test('CSV with the documented columns, one row per entry; JSON lines; admin only', async () => {
    const csv = await call(ADMIN, 'GET', '/v1/credits/export?account=team-a&format=csv');
    expect(csv.status).toBe(200);
    expect(csv.type).toMatch(/^text\/csv/);
    const [header, ...rows] = csv.text.trimEnd().split('\r\n');
    expect(header).toBe(
      'entry_id,at,account,kind,credits,sandbox,profile,consumer,started_at,ended_at,hold,note',
    );
    expect(rows.length).toBeGreaterThan(3);
    expect(
      rows.some((r) => /,team-a,debit,[\d.]+,[a-z0-9]{12},profile\.saas-stub,acme\/app#1\.1\/e2e,/.test(r)),
    ).toBe(true);
    const jsonl = await call(ADMIN, 'GET', '/v1/credits/export?format=jsonl&since=1d');
    expect(jsonl.type).toMatch(/^application\/x-ndjson/);
    const parsed = jsonl.text
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(new Set(parsed.map((r) => r.account))).toEqual(new Set(['team-a', 'team-b']));
    expect((await call(A, 'GET', '/v1/credits/export')).status).toBe(403);
    expect((await call(ADMIN, 'GET', '/v1/credits/export?since=yesterday')).json).toMatchObject({
      code: 'INPUT_INVALID',
    });
  });
});

describe('auth file errors name the file and the field', () => {
  test.each([
    ['tokens:\n  - { token: short, account: a }\n', /tokens\.0/],
    ['tokens:\n  - { sha256: "xyz", account: a }\n', /tokens\.0/],
    ['tokens:\n  - { token: "0123456789abcdefgh", account: a, role: root }\n', /tokens\.0/],
    ['tokens: [}\n', /not valid YAML/],
    [
      'oidc:\n  - { issuer: "https://x", audience: a, jwks: j.json }\n',
      /exactly one of account and account_claim/,
    ],
  ])('%j', (text, message) => {
    const file = join(dir, `bad-${Math.random()}.yaml`);
    writeFileSync(file, text);
    expect(() => loadAuthFile(file)).toThrow(message);
    try {
      loadAuthFile(file);
    } catch (error) {
      expect((error as Error).message.startsWith(file)).toBe(true);
    }
  });
});
