import { mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileStateStore, type HostDirectory, loadCatalog, SandboxManager } from '@sand-boxer/core';
import fc from 'fast-check';
import { afterAll, describe, expect, test } from 'vitest';
import { createApp } from '../src/app.js';
import { Operations } from '../src/operations.js';

/**
 * The hostile-client suite, in process: an attacker holding a token, against an app opened as
 * `serve` opens it (confined to a repo root, hosts by alias, paths redacted, a body limit). The same
 * findings against a real `serve` and the real testbed are in tests/e2e/hostile-client.itg.test.ts.
 */

const TOKEN = 'hostile-token-0123456789';
const headers = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' };
const home = mkdtempSync(join(tmpdir(), 'sbx-hostile-home-'));
const root = mkdtempSync(join(tmpdir(), 'sbx-hostile-root-'));
mkdirSync(join(root, 'app'));
writeFileSync(join(root, 'app', 'README.md'), 'a repo inside the root\n');
symlinkSync('/etc', join(root, 'escape'));
const seen: string[] = [];
/** Every host name the server was asked to resolve: a confined client may make it resolve none. */
const hosts: HostDirectory = {
  async resolve(name) {
    if (name !== undefined) seen.push(name);
    return name === undefined || name === 'local'
      ? undefined
      : { name, ssh: { address: '127.0.0.1', port: 1, user: 'u' } };
  },
  aliases: async () => ['docker-1'],
};
const manager = new SandboxManager({
  catalog: () => loadCatalog({ userDirs: [] }),
  store: new FileStateStore(home),
  home,
  hosts,
  initialCredits: 100,
  inputs: { baseDir: root, confined: true },
  probe: async () => 'probing is not allowed here',
});
const operations = new Operations();
const errorLog: string[] = [];
const app = createApp({
  manager,
  tokens: [TOKEN],
  operations,
  bodyLimitBytes: 64 * 1024,
  errorLog: (line) => errorLog.push(line),
  redact: [
    [home, '$SANDBOXER_HOME'],
    [root, '<repo root>'],
  ],
});
afterAll(async () => {
  await operations.drain(10_000);
});

async function call(method: string, path: string, body?: unknown, extra: Record<string, string> = {}) {
  const response = await app.request(path, {
    method,
    headers: { ...headers, ...extra },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  const text = await response.text();
  let json: { code?: string; message?: string; details?: Record<string, unknown> } = {};
  try {
    json = JSON.parse(text);
  } catch {
    // asserted by the caller
  }
  return { status: response.status, json, text };
}

describe('finding 1: a client cannot pick the SSH host, user or a remote path', () => {
  test.each([
    [
      'vm as user@address',
      { profile: 'vm-haskell-build', inputs: { vm: 'root@127.0.0.1:18250', workspace_dir: '/root' } },
    ],
    ['vm as an address', { profile: 'vm-haskell-build', inputs: { vm: '127.0.0.1' } }],
    ['ssh_target', { profile: 'vm-haskell-build', inputs: { ssh_target: 'root@127.0.0.1' } }],
    ['an inline host', { profile: 'compose-e2e', inputs: { repo: 'app' }, host: 'root@127.0.0.1:22' }],
    ['a bare address as host', { profile: 'compose-e2e', inputs: { repo: 'app' }, host: '10.0.0.1' }],
    [
      'workspace_dir with an alias VM',
      { profile: 'vm-haskell-build', inputs: { vm: 'docker-1', workspace_dir: '/root' } },
    ],
  ])('%s: 400 before any host is resolved', async (_what, body) => {
    seen.length = 0;
    const response = await call('POST', '/v1/sandboxes', body);
    expect(response.status).toBe(400);
    expect(response.json.code).toBe('INPUT_INVALID');
    expect(seen).toEqual([]);
  });

  test('a restore cannot name an inline host either', async () => {
    const response = await call('POST', '/v1/snapshots/snap-aaaaaaaaaaaa/restore', {
      host: 'root@127.0.0.1',
    });
    expect([400, 404]).toContain(response.status);
    expect(seen).not.toContain('root@127.0.0.1');
  });
});

describe('finding 2: /v1/route is neither a port scanner nor a directory oracle', () => {
  test.each([
    ['an inline host, one port', '/v1/route?profile=compose-e2e&input=repo%3Dapp&host=x%40127.0.0.1%3A22'],
    ['an inline host, another port', '/v1/route?profile=compose-e2e&input=repo%3Dapp&host=x%40127.0.0.1%3A9'],
  ])('%s: refused before any host is resolved or probed', async (_what, path) => {
    seen.length = 0;
    const response = await call('GET', path);
    expect(response.status).toBe(400);
    expect(response.json.message).toMatch(/is not a hosts-file alias/);
    expect(seen).toEqual([]);
  });

  test('an existing and a missing directory outside the root get the same answer, naming neither root nor cwd', async () => {
    const exists = await call('GET', '/v1/route?profile=saas-stub&input=repo%3D%2Froot%2F.ssh');
    const missing = await call('GET', '/v1/route?profile=saas-stub&input=repo%3D%2Fno%2Fsuch');
    const symlink = await call('GET', '/v1/route?profile=saas-stub&input=repo%3Descape');
    for (const r of [exists, missing, symlink]) {
      expect(r.status).toBe(400);
      expect(r.json.message).toMatch(/is not a directory inside the repo root/);
      expect(r.text).not.toContain(process.cwd());
      expect(r.text).not.toContain(root);
    }
    expect(exists.json.message?.replace('/root/.ssh', 'X')).toBe(
      missing.json.message?.replace('/no/such', 'X'),
    );
  });
});

describe('finding 3: bodies, strings and numbers are bounded', () => {
  test('a body over the limit is refused with 413 before it is parsed', async () => {
    const response = await call('POST', '/v1/sandboxes', {
      profile: 'saas-stub',
      padding: 'x'.repeat(200_000),
    });
    expect(response.status).toBe(413);
    expect(response.json.code).toBe('PAYLOAD_TOO_LARGE');
  });

  test.each([
    ['a huge note', { amount: 1, note: 'n'.repeat(5000) }],
    ['1e308 credits', { amount: 1e308 }],
    ['1e300 credits', { amount: 1e300 }],
    ['more than a billion credits', { amount: 1_000_000_001 }],
    ['a negative amount', { amount: -1 }],
  ])('a grant with %s is a 400 naming the field, and the ledger stays readable', async (_what, body) => {
    const response = await call('POST', '/v1/credits/acct/grants', body);
    expect(response.status).toBe(400);
    expect(response.json.code).toBe('INPUT_INVALID');
    expect(response.json.message).toMatch(/^invalid request: (amount|note): /);
    expect((await call('GET', '/v1/credits/acct')).status).toBe(200);
  });

  test.each([
    ['account', { profile: 'saas-stub', inputs: { repo: 'app' }, account: 'a'.repeat(300) }],
    ['consumer', { profile: 'saas-stub', inputs: { repo: 'app' }, consumer: 'c'.repeat(300) }],
    ['inputs (a long name)', { profile: 'saas-stub', inputs: { ['x'.repeat(100)]: '1' } }],
    [
      'inputs (too many)',
      {
        profile: 'saas-stub',
        inputs: Object.fromEntries(Array.from({ length: 101 }, (_, i) => [`i${i}`, '1'])),
      },
    ],
    ['ttl (a huge number)', { profile: 'saas-stub', inputs: { repo: 'app' }, ttl: 1e300 }],
    ['profile', { profile: 'p'.repeat(500) }],
  ])('a create with an oversized %s is a 400', async (_what, body) => {
    const response = await call('POST', '/v1/sandboxes', body);
    expect(response.status).toBe(400);
    expect(response.json.code).toBe('INPUT_INVALID');
  });
});

describe('reaching a sandbox (issue 16): no shell on the server, no probing of its network', () => {
  const createStub = async (extra: Record<string, unknown> = {}) =>
    call('POST', '/v1/sandboxes?wait=true', { profile: 'saas-stub', inputs: { repo: 'app' }, ...extra });

  test("exec on a sandbox that lives on the server's own machine is refused, and nothing runs", async () => {
    const created = await createStub();
    expect(created.status).toBe(201);
    const id = (created.json as { id: string }).id;
    const marker = join(root, 'exec-ran');
    const response = await call('POST', `/v1/sandboxes/${id}/exec`, { argv: ['touch', marker] });
    expect(response.status).toBe(422);
    expect(response.json.code).toBe('UNSUPPORTED');
    expect(response.json.message).toMatch(/not offered to remote clients/);
    expect(() => readFileSync(marker)).toThrow();
    expect((await call('DELETE', `/v1/sandboxes/${id}`)).status).toBe(200);
  });

  test.each([
    ['a loopback port', 'tcp://127.0.0.1:22'],
    ['a bare port', 'tcp://22'],
    ['another address', 'http://10.0.0.1:80/'],
  ])('a wait_for check on %s fails naming the published ports, and rolls back', async (_what, check) => {
    const response = await createStub({ wait_for: [check], inputs: { repo: 'app', wait_timeout: '1' } });
    expect(response.status).toBe(502);
    expect(response.json.message).toMatch(/is not a published port/);
    const id = response.json.details?.sandbox as string;
    expect(((await call('GET', `/v1/sandboxes/${id}`)).json as { state?: string }).state).toBe('failed');
  });

  test('a malformed check is a 400 before anything is created', async () => {
    const response = await createStub({ wait_for: ['ftp://web:21'] });
    expect(response.status).toBe(400);
    expect(response.json.message).toMatch(/wait_for: .*expected http:\/\/service:port\/path/);
  });

  test('logs of an unknown sandbox is a 404; a since that could pass for an option is a 400', async () => {
    expect((await call('GET', '/v1/sandboxes/aaaaaaaaaaaa/logs')).status).toBe(404);
    const created = await createStub();
    const id = (created.json as { id: string }).id;
    const response = await call('GET', `/v1/sandboxes/${id}/logs?since=-3`);
    expect([200, 400]).toContain(response.status);
    await call('DELETE', `/v1/sandboxes/${id}`);
  });
});

describe('finding 7: a balance never goes below zero by our own doing', () => {
  test('0.5 credits, a 1-minute sandbox destroyed after 77 s: charged what its hold reserved, balance 0', async () => {
    const clock = { now: new Date('2030-01-01T00:00:00Z') };
    const stateHome = mkdtempSync(join(tmpdir(), 'sbx-hostile-clock-'));
    const timed = createApp({
      manager: new SandboxManager({
        catalog: () => loadCatalog({ userDirs: [] }),
        store: new FileStateStore(stateHome),
        home: stateHome,
        initialCredits: 0.5,
        inputs: { baseDir: root, confined: true },
        now: () => clock.now,
      }),
      tokens: [TOKEN],
    });
    const request = (method: string, path: string, body?: unknown) =>
      timed.request(path, { method, headers, ...(body ? { body: JSON.stringify(body) } : {}) });
    const created = await request('POST', '/v1/sandboxes?wait=true', {
      profile: 'saas-stub',
      inputs: { repo: 'app' },
      ttl: '1m',
      account: 'poor',
    });
    expect(created.status).toBe(201);
    const { id } = (await created.json()) as { id: string };
    clock.now = new Date(clock.now.getTime() + 77_000);
    const destroyed = (await (await request('DELETE', `/v1/sandboxes/${id}`)).json()) as { cost: unknown };
    expect(destroyed.cost).toMatchObject({ credits: 0.5, breakdown: { waived: 0.5 } });
    const balance = (await (await request('GET', '/v1/credits/poor')).json()) as { balance: number };
    expect(balance.balance).toBe(0);
  });
});

describe('finding 6: bodies must be JSON', () => {
  test.each([
    ['no content type', {}],
    ['text/plain (what a no-cors page can send)', { 'content-type': 'text/plain' }],
    ['a form', { 'content-type': 'application/x-www-form-urlencoded' }],
  ])('a POST with %s is a 415 and does nothing', async (_what, type) => {
    const before = await manager.snapshots.list({ all: true });
    const response = await app.request('/v1/sandboxes/aaaaaaaaaaaa/snapshots', {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, ...type },
      body: '{}',
    });
    expect(response.status).toBe(415);
    expect(((await response.json()) as { code: string }).code).toBe('UNSUPPORTED_MEDIA_TYPE');
    expect(await manager.snapshots.list({ all: true })).toEqual(before);
  });
});

describe('finding 10: error bodies reveal no server paths', () => {
  test('a typed error names the state directory by its label', async () => {
    const response = await call('GET', '/v1/sandboxes/aaaaaaaaaaaa');
    expect(response.status).toBe(404);
    expect(response.json.message).toBe('no sandbox "aaaaaaaaaaaa" in $SANDBOXER_HOME');
    expect(response.text).not.toContain(home);
  });

  test('a corrupt ledger is STATE_CORRUPT naming the file by its label, not its path', async () => {
    expect((await call('POST', '/v1/credits/acct/grants', { amount: 5 })).status).toBe(201);
    const file = join(home, 'ledger.jsonl');
    const before = readFileSync(file, 'utf8');
    writeFileSync(file, `${before}{"broken": true}\n`);
    const response = await call('GET', '/v1/credits/acct');
    writeFileSync(file, before);
    expect(response.status).toBe(500);
    expect(response.json.code).toBe('STATE_CORRUPT');
    expect(response.json.message).toMatch(
      /^\$SANDBOXER_HOME\/ledger\.jsonl: line \d+ is not a valid ledger entry/,
    );
    expect(response.text).not.toContain(home);
  });
});

/** Arbitrary JSON, and the shapes of real bodies with arbitrary values in their fields. */
const anyJson = fc.jsonValue({ maxDepth: 3 });
const fieldValue = fc.oneof(
  anyJson,
  fc.string({ maxLength: 300 }),
  fc.double(),
  fc.constantFrom('', '..', '/etc', 'root@127.0.0.1', '__proto__', 'constructor', '\u0000', '1e308'),
);
const bodies = {
  create: fc.record(
    {
      profile: fc.oneof(fieldValue, fc.constantFrom('saas-stub', 'compose-e2e', 'vm-haskell-build')),
      inputs: fc.oneof(fieldValue, fc.dictionary(fc.string({ maxLength: 70 }), fieldValue, { maxKeys: 5 })),
      host: fieldValue,
      ttl: fieldValue,
      lease: fieldValue,
      account: fieldValue,
      consumer: fieldValue,
      wait_for: fc.oneof(fieldValue, fc.array(fieldValue, { maxLength: 3 })),
    },
    { requiredKeys: [] },
  ),
  exec: fc.record(
    {
      argv: fc.oneof(fieldValue, fc.array(fc.string({ maxLength: 40 }), { maxLength: 4 })),
      service: fieldValue,
      stdin: fieldValue,
      timeout: fieldValue,
    },
    { requiredKeys: [] },
  ),
  grant: fc.record({ amount: fieldValue, note: fieldValue }, { requiredKeys: [] }),
  snapshot: fc.record({ name: fieldValue, pull: fieldValue }, { requiredKeys: [] }),
  restore: fc.record(
    { mode: fieldValue, host: fieldValue, sandbox: fieldValue, inputs: fieldValue, ttl: fieldValue },
    { requiredKeys: [] },
  ),
};
const segment = fc.oneof(
  fc.string({ maxLength: 80 }),
  fc.constantFrom('aaaaaaaaaaaa', 'snap-aaaaaaaaaaaa', '..', '%00'),
);

describe('fuzzing every route: never a 500, never a crash, always the error shape', () => {
  const expectHandled = (response: Awaited<ReturnType<typeof call>>) => {
    expect(response.status).toBeLessThan(500);
    expect(response.json).toEqual(expect.objectContaining({}));
    if (response.status >= 400) expect(typeof response.json.code).toBe('string');
  };
  const runs = { numRuns: 60 };

  test.each([
    ['POST /v1/sandboxes', '/v1/sandboxes', bodies.create],
    ['POST /v1/credits/{account}/grants', '/v1/credits/acct/grants', bodies.grant],
    ['POST /v1/sandboxes/{id}/snapshots', '/v1/sandboxes/aaaaaaaaaaaa/snapshots', bodies.snapshot],
    ['POST /v1/snapshots/{ref}/restore', '/v1/snapshots/snap-aaaaaaaaaaaa/restore', bodies.restore],
    ['POST /v1/sandboxes/{id}/exec', '/v1/sandboxes/aaaaaaaaaaaa/exec', bodies.exec],
    ['POST /v1/hosts/probe', '/v1/hosts/probe', fc.record({ host: fc.string({ maxLength: 80 }) })],
  ] as Array<[string, string, fc.Arbitrary<unknown>]>)(
    '%s with arbitrary bodies',
    async (_name, path, body) => {
      await fc.assert(
        fc.asyncProperty(fc.oneof(body, anyJson), async (value) => {
          expectHandled(await call('POST', path, value));
        }),
        runs,
      );
    },
  );

  test('bodies that are not JSON at all', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ maxLength: 200 }), async (text) => {
        expectHandled(await call('POST', '/v1/sandboxes', text));
      }),
      runs,
    );
  });

  test.each([
    ['GET /v1/sandboxes/{id}', (s: string) => ['GET', `/v1/sandboxes/${encodeURIComponent(s)}`]],
    ['DELETE /v1/sandboxes/{id}', (s: string) => ['DELETE', `/v1/sandboxes/${encodeURIComponent(s)}`]],
    [
      'GET /v1/sandboxes/{id}/logs',
      (s: string) => [
        'GET',
        `/v1/sandboxes/${encodeURIComponent(s)}/logs?tail=${encodeURIComponent(s)}&since=${encodeURIComponent(s)}&service=${encodeURIComponent(s)}`,
      ],
    ],
    ['GET /v1/snapshots/{ref}', (s: string) => ['GET', `/v1/snapshots/${encodeURIComponent(s)}`]],
    [
      'POST /v1/sandboxes/{id}/lease',
      (s: string) => ['POST', `/v1/sandboxes/${encodeURIComponent(s)}/lease`],
    ],
    ['POST /v1/hosts/{host}/drain', (s: string) => ['POST', `/v1/hosts/${encodeURIComponent(s)}/drain`]],
    ['POST /v1/hosts/{host}/undrain', (s: string) => ['POST', `/v1/hosts/${encodeURIComponent(s)}/undrain`]],
    ['DELETE /v1/snapshots/{ref}', (s: string) => ['DELETE', `/v1/snapshots/${encodeURIComponent(s)}`]],
    ['GET /v1/credits/{account}', (s: string) => ['GET', `/v1/credits/${encodeURIComponent(s)}`]],
    [
      'GET /v1/credits/{account}/history',
      (s: string) => ['GET', `/v1/credits/${encodeURIComponent(s)}/history`],
    ],
    [
      'GET /v1/estimate',
      (s: string) => ['GET', `/v1/estimate?profile=${encodeURIComponent(s)}&ttl=${encodeURIComponent(s)}`],
    ],
    [
      'GET /v1/route',
      (s: string) => [
        'GET',
        `/v1/route?profile=saas-stub&host=${encodeURIComponent(s)}&input=${encodeURIComponent(s)}`,
      ],
    ],
  ] as Array<[string, (s: string) => [string, string]]>)(
    '%s with arbitrary path segments and queries',
    async (_name, request) => {
      await fc.assert(
        fc.asyncProperty(segment, async (s) => {
          const [method, path] = request(s);
          expectHandled(await call(method, path));
        }),
        runs,
      );
    },
  );

  test('no unexpected error reached the server log', () => {
    expect(errorLog).toEqual([]);
  });
});
