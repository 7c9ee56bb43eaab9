import { existsSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
// @ts-expect-error: a plain ES module shared with `pnpm bench`.
import { runLoad } from '../../bench/lib/http-load.mjs';
import { checkedFetch } from './support/checked-fetch.js';
import { sandboxer } from './support/cli.js';
import { projectResources } from './support/docker.js';
import { type ServerProcess, startServe } from './support/server.js';
import { loadTestbed, type Testbed, writeTestbedHostsFile } from './support/testbed.js';

/**
 * `sandboxer serve` as a real process on 127.0.0.1: the REST surface over the same state the CLI
 * uses, on the embedded backend and on the real compose-ssh testbed.
 */

const fixtures = join(import.meta.dirname, '..', 'fixtures');
const TOKEN = 'e2e-token-0123456789abcdef';
let testbed: Testbed;
let env: Record<string, string>;
let server: ServerProcess;

const auth = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' };

async function call(method: string, path: string, body?: unknown, headers: Record<string, string> = auth) {
  const response = await server.fetch(path, {
    method,
    headers,
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  // biome-ignore lint/suspicious/noExplicitAny: the tests assert the shapes they read.
  const json: any = await response.json();
  return { status: response.status, location: response.headers.get('location'), json };
}

async function pollUntil(id: string, states: string[], timeoutMs = 120_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { json } = await call('GET', `/v1/sandboxes/${id}`);
    if (states.includes(json.state)) return json;
    if (Date.now() > deadline) throw new Error(`sandbox ${id} still ${json.state}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

beforeAll(async () => {
  testbed = loadTestbed();
  const home = mkdtempSync(join(tmpdir(), 'sbx-http-'));
  const hostsFile = writeTestbedHostsFile(testbed, home);
  env = {
    SANDBOXER_HOME: home,
    SANDBOXER_HOSTS: hostsFile,
    SANDBOXER_COMPOSE_CMD: 'docker-compose',
    SANDBOXER_INITIAL_CREDITS: '0',
    SANDBOXER_API_TOKENS: TOKEN,
  };
  for (const [account, amount] of [
    ['http-e2e', '100'],
    ['load', '1000'],
  ]) {
    expect(sandboxer(['credits', 'grant', account as string, amount as string], env).code).toBe(0);
  }
  server = await startServe(env);
});

afterAll(async () => {
  await server?.stop();
});

describe('the HTTP API on the embedded backend', () => {
  test('create → 202 + Location → poll → ready → the CLI sees it → destroy', async () => {
    const created = await call('POST', '/v1/sandboxes', {
      profile: 'saas-stub',
      inputs: { repo: join(fixtures, 'sample-repo') },
      consumer: 'http-e2e',
    });
    expect(created.status).toBe(202);
    expect(created.location).toBe(`/v1/sandboxes/${created.json.id}`);
    expect(created.json).toMatchObject({ state: 'provisioning', operation: { kind: 'create' } });

    const ready = await pollUntil(created.json.id, ['ready']);
    expect(ready.operation).toMatchObject({ status: 'succeeded' });
    expect(ready.operation.progress.join('\n')).toContain(`sandbox ${ready.id}: ready`);
    expect(existsSync(join(ready.reachability.remote_dir, 'README.md'))).toBe(true);

    const listed = sandboxer(['list', '--json'], env).json as Array<{ id: string }>;
    expect(listed.map((r) => r.id)).toContain(ready.id);

    const destroyed = await call('DELETE', `/v1/sandboxes/${ready.id}`);
    expect(destroyed.status).toBe(200);
    expect(destroyed.json).toMatchObject({ state: 'destroyed', cost: { credits: 0.5 } });
    expect((await call('DELETE', `/v1/sandboxes/${ready.id}`)).status).toBe(200);
    expect(sandboxer(['status', ready.id, '--json'], env).json.state).toBe('destroyed');
  });

  test('credits, estimate, route, profiles and extensions', async () => {
    const granted = await call('POST', '/v1/credits/http-team/grants', { amount: 25, note: 'e2e' });
    expect(granted.status).toBe(201);
    expect(granted.json.balance).toMatchObject({ account: 'http-team', balance: 25 });
    expect((await call('GET', '/v1/credits/http-team')).json.available).toBe(25);
    expect(
      (await call('GET', '/v1/credits/http-team/history')).json.map((e: { kind: string }) => e.kind),
    ).toEqual(['grant']);
    expect((await call('GET', '/v1/estimate?profile=saas-stub&ttl=2h')).json.quote.credits).toBe(60);
    const repo = encodeURIComponent(join(fixtures, 'sample-repo'));
    const route = await call('GET', `/v1/route?profile=burst-sandbox&account=http-team&input=repo%3D${repo}`);
    expect(route.json.chosen).toMatchObject({ extension: 'ext.saas-stub', feasible: true });
    expect((await call('GET', '/v1/profiles')).json.map((p: { id: string }) => p.id)).toContain(
      'profile.compose-e2e',
    );
    expect((await call('GET', '/v1/extensions')).json).toHaveLength(3);
  });

  test('/openapi.json describes the routes and /healthz answers without a token', async () => {
    const doc = (await (await server.fetch('/openapi.json')).json()) as {
      openapi: string;
      paths: Record<string, Record<string, { responses: object }>>;
    };
    expect(doc.openapi).toBe('3.1.0');
    for (const path of ['/v1/sandboxes', '/v1/sandboxes/{id}', '/v1/credits/{account}/grants', '/v1/route']) {
      expect(Object.keys(doc.paths)).toContain(path);
    }
    expect(doc.paths['/v1/sandboxes']?.post?.responses).toHaveProperty('202');
    expect(await (await server.fetch('/healthz')).json()).toMatchObject({ ok: true });
  });

  test.each([
    [
      'bad JSON',
      () => call('POST', '/v1/sandboxes', '{"profile":'),
      400,
      'INPUT_INVALID',
      /request body is not valid JSON/,
    ],
    [
      'an unknown field',
      () => call('POST', '/v1/sandboxes', { profile: 'saas-stub', colour: 'red' }),
      400,
      'INPUT_INVALID',
      /colour/,
    ],
    [
      'an unknown profile',
      () => call('POST', '/v1/sandboxes', { profile: 'nope' }),
      404,
      'NOT_FOUND',
      /unknown profile "nope"/,
    ],
    [
      'a missing input',
      () => call('POST', '/v1/sandboxes', { profile: 'saas-stub' }),
      400,
      'INPUT_INVALID',
      /input "repo" required/,
    ],
    [
      'an unknown sandbox',
      () => call('GET', '/v1/sandboxes/aaaaaaaaaaaa'),
      404,
      'NOT_FOUND',
      /no sandbox "aaaaaaaaaaaa"/,
    ],
    [
      'insufficient credits',
      () =>
        call('POST', '/v1/sandboxes', {
          profile: 'saas-stub',
          inputs: { repo: '.' },
          account: 'broke',
          ttl: '4h',
        }),
      402,
      'INSUFFICIENT_CREDITS',
      /cannot afford/,
    ],
    [
      'a repo outside the server repo root',
      () => call('POST', '/v1/sandboxes', { profile: 'saas-stub', inputs: { repo: '/etc' } }),
      400,
      'INPUT_INVALID',
      /input "repo": "\/etc" is not a directory inside the repo root \(set "repo" in the request's "inputs"\)/,
    ],
    [
      'an inline user@address host',
      () =>
        call('POST', '/v1/sandboxes', {
          profile: 'compose-e2e',
          inputs: { repo: '.' },
          host: 'root@10.0.0.1',
        }),
      400,
      'INPUT_INVALID',
      /"host": "root@10\.0\.0\.1" is not a hosts-file alias; here hosts may only be named by alias/,
    ],
    [
      'a missing token',
      () => call('GET', '/v1/sandboxes', undefined, {}),
      401,
      'UNAUTHORIZED',
      /missing bearer token/,
    ],
    [
      'a wrong token',
      () => call('GET', '/v1/sandboxes', undefined, { authorization: 'Bearer not-the-token-at-all' }),
      401,
      'UNAUTHORIZED',
      /invalid bearer token/,
    ],
  ] as const)('%s → %s', async (_name, request, status, code, message) => {
    const response = await request();
    expect(response.status).toBe(status);
    expect(response.json.code).toBe(code);
    expect(response.json.message).toMatch(message);
  });

  test('a destroy while the create is still running stops it: rolled back, nothing left', async () => {
    const created = await call('POST', '/v1/sandboxes', {
      profile: 'compose-e2e',
      inputs: { repo: join(fixtures, 'compose-http') },
    });
    expect(created.status).toBe(202);
    const early = await call('DELETE', `/v1/sandboxes/${created.json.id}`);
    expect(early.status).toBe(200);
    expect(early.json.state).toMatch(/^(failed|destroyed)$/);
    // The create was interrupted (its record says so), then the destroy found it rolled back.
    expect(early.json.error).toMatchObject({ code: 'INTERRUPTED' });
    expect(early.json.operation).toMatchObject({ kind: 'destroy', status: 'succeeded' });
    expect(projectResources(created.json.id)).toEqual([]);
  });

  test('the server log never contains a token', () => {
    expect(server.log()).toContain('GET /v1/sandboxes 401');
    expect(server.log()).not.toContain(TOKEN);
    expect(server.log()).not.toContain('not-the-token-at-all');
  });

  test('200 create/destroy pairs, 20 at a time: zero errors, zero leaks', async () => {
    const before = sandboxer(['list', '--json'], env).json.length;
    const result = await runLoad({
      url: server.url,
      fetch: checkedFetch,
      token: TOKEN,
      pairs: 200,
      concurrency: 20,
      body: { profile: 'saas-stub', inputs: { repo: join(fixtures, 'sample-repo') }, account: 'load' },
    });
    expect(result.errors).toEqual([]);
    expect(result.create.count).toBe(200);
    expect(sandboxer(['list', '--json'], env).json).toHaveLength(before);
    expect(readdirSync(join(env.SANDBOXER_HOME as string, 'saas-stub'))).toEqual([]);
    expect((await call('GET', '/v1/credits/load')).json).toMatchObject({
      held: 0,
      balance: 1000 - 200 * 0.5,
    });
  }, 300_000);
});

describe('the HTTP API on the real compose-ssh testbed', () => {
  test('create with ?wait=true → the stack answers → destroy leaves nothing', async () => {
    const created = await call('POST', '/v1/sandboxes?wait=true', {
      profile: 'compose-e2e',
      inputs: { repo: join(fixtures, 'compose-http') },
    });
    expect(created.status, JSON.stringify(created.json)).toBe(201);
    const endpoint = created.json.reachability.endpoints['web:8080'];
    expect(await (await fetch(`http://${endpoint}/`)).text()).toContain('hello from sand-boxer');
    expect((await call('DELETE', `/v1/sandboxes/${created.json.id}`)).json.state).toBe('destroyed');
    expect(projectResources(created.json.id)).toEqual([]);
  });
});

describe('serve itself', () => {
  test('refuses to listen on a non-loopback address without tokens', () => {
    const { SANDBOXER_API_TOKENS: _t, ...noTokens } = env;
    const result = sandboxer(['serve', '--host', '0.0.0.0', '--port', '0'], noTokens);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('refusing to listen on 0.0.0.0 without authentication');
  });

  test('shutdown interrupts in-flight work with --grace 0: the create rolls back and nothing leaks', async () => {
    const own = await startServe(env, ['--grace', '0']);
    const response = await own.fetch('/v1/sandboxes', {
      method: 'POST',
      headers: auth,
      body: JSON.stringify({ profile: 'compose-e2e', inputs: { repo: join(fixtures, 'compose-http') } }),
    });
    expect(response.status).toBe(202);
    const { id } = (await response.json()) as { id: string };
    expect(await own.stop('SIGTERM')).toBe(0);
    expect(own.log()).toMatch(/stopped \(0 operations finished, 1 interrupted\)/);
    const record = sandboxer(['status', id, '--json'], env).json;
    expect(record).toMatchObject({ state: 'failed', error: { code: 'INTERRUPTED' } });
    expect(projectResources(id)).toEqual([]);
  });
});
