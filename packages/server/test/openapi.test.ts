import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileStateStore, loadCatalog, SandboxManager } from '@sand-boxer/core';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import formats from 'ajv-formats';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createApp } from '../src/app.js';
import { Operations } from '../src/operations.js';

/**
 * The OpenAPI document against itself and against real answers: it is 3.1, every operation is
 * named, tagged and lists the statuses the middleware can answer, every response schema compiles
 * as JSON Schema 2020-12, and responses of the in-process app match the schema of the operation
 * (looked up by operationId) and status they came with. The e2e suite checks every response it
 * gets from a real `sandboxer serve` the same way (tests/e2e/support/openapi-check.ts).
 */

const TOKEN = 'openapi-token-0123456789';
const dir = mkdtempSync(join(tmpdir(), 'sbx-openapi-'));
mkdirSync(join(dir, 'repo'));
writeFileSync(join(dir, 'repo', 'README.md'), 'hello\n');
const home = join(dir, 'home');
const manager = new SandboxManager({
  catalog: () => loadCatalog({ userDirs: [] }),
  store: new FileStateStore(home),
  home,
  inputs: { baseDir: dir, confined: true },
  initialCredits: 100,
});
const operations = new Operations();
const app = createApp({ manager, tokens: [TOKEN], operations, bodyLimitBytes: 4096 });
afterAll(() => operations.drain(10_000));

interface Operation {
  operationId?: string;
  tags?: string[];
  security?: unknown[];
  responses: Record<string, { headers?: Record<string, { required?: boolean }>; content?: object }>;
}
interface Document {
  openapi: string;
  info: { license?: { name: string } };
  servers?: Array<{ url: string }>;
  tags?: Array<{ name: string }>;
  paths: Record<string, Record<string, Operation>>;
}

const DOCUMENT_ID = 'https://sand-boxer.invalid/openapi.json';
let document: Document;
let ajv: Ajv2020;
/** Every operation with where it is: [operationId, method, path, operation]. */
let all: Array<[string, string, string, Operation]>;

beforeAll(async () => {
  const response = await app.request('/openapi.json');
  expect(response.status).toBe(200);
  document = (await response.json()) as Document;
  all = Object.entries(document.paths).flatMap(([path, item]) =>
    Object.entries(item).map(([method, op]) => [op.operationId ?? '', method, path, op] as const),
  ) as typeof all;
  // strict: a keyword JSON Schema 2020-12 does not know (3.0's `nullable`) fails the compile.
  ajv = new Ajv2020({ strict: true, allErrors: true });
  formats.default(ajv);
  ajv.addVocabulary(['example', 'discriminator', 'xml', 'externalDocs']);
  ajv.addVocabulary(['openapi', 'info', 'servers', 'paths', 'components', 'tags', 'security', 'webhooks']);
  ajv.addSchema(document as object, DOCUMENT_ID);
});

const pointer = (...parts: string[]) =>
  parts.map((p) => p.replace(/~/g, '~0').replace(/\//g, '~1')).join('/');
const compile = (path: string, method: string, status: string): ValidateFunction =>
  ajv.compile({
    $ref: `${DOCUMENT_ID}#/${pointer('paths', path, method, 'responses', status, 'content', 'application/json', 'schema')}`,
  });

/** The response, after checking it is one the operation documents: status, headers, JSON body. */
async function documented(operationId: string, response: Response): Promise<Response> {
  const found = all.find(([id]) => id === operationId);
  if (!found) throw new Error(`no operation ${operationId} in the document`);
  const [, method, path, operation] = found;
  const status = String(response.status);
  const body = await response.clone().text();
  const documentedResponse = operation.responses[status];
  expect(documentedResponse, `${operationId} does not document ${status}: ${body}`).toBeDefined();
  for (const [name, header] of Object.entries(documentedResponse?.headers ?? {})) {
    if (header.required)
      expect(response.headers.get(name), `${operationId} ${status}: ${name}`).not.toBeNull();
  }
  const validate = compile(path, method, status);
  const valid = validate(JSON.parse(body));
  expect(valid ? [] : validate.errors, `${operationId} ${status}: ${body}`).toEqual([]);
  return response;
}

const auth = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' };
const call = (method: string, path: string, body?: unknown, headers: Record<string, string> = auth) =>
  app.request(path, {
    method,
    headers,
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });

describe('the document', () => {
  test('is OpenAPI 3.1 with a license, the default server and the tags it uses', () => {
    expect(document.openapi).toBe('3.1.0');
    expect(document.info.license).toMatchObject({ name: 'MIT' });
    expect(document.servers?.map((s) => s.url)).toEqual(['http://127.0.0.1:7070']);
    const defined = new Set(document.tags?.map((t) => t.name));
    for (const [id, method, path, operation] of all) {
      expect(operation.tags, `${method} ${path}`).toHaveLength(1);
      expect(defined, `${method} ${path}: ${operation.tags}`).toContain(operation.tags?.[0]);
      expect(id, `${method} ${path}`).toMatch(/^[a-z][a-zA-Z]+$/);
    }
  });

  test('every operation has its own operationId', () => {
    const ids = all.map(([id]) => id);
    expect(ids.length).toBeGreaterThan(25);
    expect(new Set(ids).size).toBe(ids.length);
  });

  test('/healthz and /openapi.json are documented, without a token', () => {
    expect(document.paths['/healthz']?.get).toMatchObject({ operationId: 'getHealth', security: [] });
    expect(document.paths['/openapi.json']?.get).toMatchObject({
      operationId: 'getOpenApiDocument',
      security: [],
    });
  });

  test('every /v1 operation lists what the middleware may answer, and only that', () => {
    for (const [id, method, path, operation] of all.filter(([, , path]) => path.startsWith('/v1/'))) {
      const statuses = Object.keys(operation.responses);
      expect(statuses, id).toEqual(expect.arrayContaining(['401', '403', '500', '503']));
      const post = ['413', '415'];
      if (method === 'post') expect(statuses, id).toEqual(expect.arrayContaining(post));
      else
        expect(
          statuses.filter((s) => post.includes(s)),
          `${method} ${path}`,
        ).toEqual([]);
    }
    expect(document.paths['/v1/sandboxes']?.post?.responses['202']?.headers?.Location).toMatchObject({
      required: true,
    });
  });

  test('every JSON response schema compiles as JSON Schema 2020-12 (ajv, strict)', () => {
    const failures: string[] = [];
    let compiled = 0;
    for (const [id, method, path, operation] of all) {
      for (const [status, response] of Object.entries(operation.responses)) {
        if (!response.content || !('application/json' in response.content)) continue;
        try {
          compile(path, method, status);
          compiled += 1;
        } catch (error) {
          failures.push(`${id} ${status}: ${(error as Error).message}`);
        }
      }
    }
    expect(failures).toEqual([]);
    expect(compiled).toBeGreaterThan(100);
  });
});

describe('real responses match the document', () => {
  test("a sandbox's life on saas-stub: 202 with Location, get, list, destroy", async () => {
    const created = await documented(
      'createSandbox',
      await call('POST', '/v1/sandboxes', { profile: 'saas-stub', inputs: { repo: 'repo' }, ttl: '10m' }),
    );
    expect(created.status).toBe(202);
    const { id } = (await created.json()) as { id: string };
    expect(created.headers.get('location')).toBe(`/v1/sandboxes/${id}`);
    for (let state = ''; state !== 'ready'; ) {
      const shown = await documented('getSandbox', await call('GET', `/v1/sandboxes/${id}`));
      state = ((await shown.json()) as { state: string }).state;
      expect(state).toMatch(/^(provisioning|ready)$/);
    }
    await documented('listSandboxes', await call('GET', '/v1/sandboxes?all=true'));
    await documented(
      'createSandbox',
      await call('POST', '/v1/sandboxes?wait=true', { profile: 'saas-stub', inputs: { repo: 'repo' } }),
    );
    expect((await documented('destroySandbox', await call('DELETE', `/v1/sandboxes/${id}`))).status).toBe(
      200,
    );
    await documented('getSandbox', await call('GET', `/v1/sandboxes/${id}`));
  });

  test('a lease: created with one, renewed (200), 400 without one, 409 once the sandbox is gone', async () => {
    const create = (body: Record<string, unknown>) =>
      call('POST', '/v1/sandboxes?wait=true', { profile: 'saas-stub', inputs: { repo: 'repo' }, ...body });
    const leased = await documented('createSandbox', await create({ lease: '30s' }));
    const { id, lease_seconds } = (await leased.json()) as { id: string; lease_seconds: number };
    expect(lease_seconds).toBe(30);
    const renewed = await documented('renewLease', await call('POST', `/v1/sandboxes/${id}/lease`));
    expect(renewed.status).toBe(200);
    expect(((await renewed.json()) as { lease_renewed_at?: string }).lease_renewed_at).toBeDefined();
    const plain = (await (await create({})).json()) as { id: string };
    const none = await documented('renewLease', await call('POST', `/v1/sandboxes/${plain.id}/lease`));
    expect(none.status).toBe(400);
    await call('DELETE', `/v1/sandboxes/${id}`);
    await call('DELETE', `/v1/sandboxes/${plain.id}`);
    const gone = await documented('renewLease', await call('POST', `/v1/sandboxes/${id}/lease`));
    expect(gone.status).toBe(409);
    expect(await gone.json()).toMatchObject({ error: { code: 'STATE_CONFLICT' } });
  });

  test('the catalog, credits, snapshots, hosts and the service routes', async () => {
    await documented('getHealth', await app.request('/healthz'));
    await documented('getOpenApiDocument', await app.request('/openapi.json'));
    await documented('listProfiles', await call('GET', '/v1/profiles'));
    await documented('listExtensions', await call('GET', '/v1/extensions'));
    await documented('estimateCost', await call('GET', '/v1/estimate?profile=saas-stub&ttl=2h'));
    await documented('explainRoute', await call('GET', '/v1/route?profile=saas-stub&input=repo%3Drepo'));
    expect(
      (await documented('grantCredits', await call('POST', '/v1/credits/team/grants', { amount: 5 }))).status,
    ).toBe(201);
    await documented('getBalance', await call('GET', '/v1/credits/team'));
    await documented('getCreditHistory', await call('GET', '/v1/credits/team/history'));
    await documented('listBalances', await call('GET', '/v1/credits'));
    await documented('listSnapshots', await call('GET', '/v1/snapshots?all=true'));
    await documented('listHosts', await call('GET', '/v1/hosts'));
  });

  test.each([
    ['getSandbox', 404, () => call('GET', '/v1/sandboxes/aaaaaaaaaaaa')],
    ['createSandbox', 400, () => call('POST', '/v1/sandboxes', '{"profile":')],
    ['createSandbox', 400, () => call('POST', '/v1/sandboxes', { profile: 'saas-stub', colour: 'red' })],
    ['createSandbox', 404, () => call('POST', '/v1/sandboxes', { profile: 'nope' })],
    ['createSandbox', 415, () => call('POST', '/v1/sandboxes', {}, { authorization: `Bearer ${TOKEN}` })],
    ['createSandbox', 413, () => call('POST', '/v1/sandboxes', { profile: 'x'.repeat(8000) })],
    ['listSandboxes', 401, () => call('GET', '/v1/sandboxes', undefined, {})],
    ['getBalance', 200, () => call('GET', '/v1/credits/nobody')],
    ['getSandboxLogs', 404, () => call('GET', '/v1/sandboxes/aaaaaaaaaaaa/logs')],
    ['drainHost', 404, () => call('POST', '/v1/hosts/nope/drain')],
  ] as const)('%s → %i', async (operationId, status, request) => {
    expect((await documented(operationId, await request())).status).toBe(status);
  });

  test('a server without tokens: 403 for a Host that is not loopback; 503 while draining', async () => {
    const draining = new Operations();
    const open = createApp({ manager, operations: draining });
    const foreign = await open.request('/v1/sandboxes', { headers: { ...auth, host: 'evil.example' } });
    expect((await documented('listSandboxes', foreign)).status).toBe(403);
    draining.draining = true;
    const refused = await open.request('/v1/sandboxes', {
      method: 'POST',
      headers: { ...auth, host: '127.0.0.1' },
      body: JSON.stringify({ profile: 'saas-stub' }),
    });
    expect((await documented('createSandbox', refused)).status).toBe(503);
  });
});
