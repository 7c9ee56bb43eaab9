import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { newJob, parseCommandFile, runStep } from './support/action-runner.js';
import { sandboxer } from './support/cli.js';
import { allSandboxLeftovers, projectResources } from './support/docker.js';
import { type PostgresCluster, startPostgres, type TestDatabase, testDatabase } from './support/postgres.js';
import { type ServerProcess, startServe } from './support/server.js';
import { loadTestbed, type Testbed, writeTestbedHostsFile } from './support/testbed.js';

/**
 * Issue 17: one control plane for a team. Two `sandboxer serve` replicas on one PostgreSQL
 * database, tokens scoped per account, the CLI and the action as clients; PostgreSQL from Debian's
 * packages, started here, with a database of this file's own.
 */

const root = join(import.meta.dirname, '..', '..');
const fixtures = join(root, 'tests', 'fixtures');
const MEMBER_A = 'team-a-token-0123456789abcdef';
const MEMBER_B = 'team-b-token-0123456789abcdef';
const ADMIN = 'admin-token-0123456789abcdefgh';
const ISSUER = 'https://token.actions.githubusercontent.com';
/** The auth file holds only digests (as a team's would), so no token lies around in the run's files. */
const sha256 = (token: string) => createHash('sha256').update(token).digest('hex');

let testbed: Testbed;
let db: TestDatabase;
let cluster: PostgresCluster;
let dir: string;
let env: Record<string, string>;
let replicas: ServerProcess[] = [];
let signJob: (claims: Record<string, unknown>) => Promise<string>;

async function startReplica(name: string): Promise<ServerProcess> {
  return startServe({ ...env, SANDBOXER_HOME: join(dir, name) }, [
    '--auth-file',
    join(dir, 'auth.yaml'),
    '--repo-root',
    fixtures,
    '--reap-interval',
    '2',
    '--grace',
    '5',
  ]);
}

beforeAll(async () => {
  testbed = loadTestbed();
  cluster = await startPostgres();
  db = await testDatabase('sbx_control');
  dir = mkdtempSync(join(tmpdir(), 'sbx-control-'));
  const { publicKey, privateKey } = await generateKeyPair('RS256');
  writeFileSync(
    join(dir, 'jwks.json'),
    JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid: 'k' }] }),
  );
  signJob = (claims) =>
    new SignJWT(claims)
      .setProtectedHeader({ alg: 'RS256', kid: 'k' })
      .setIssuer(ISSUER)
      .setAudience('sand-boxer')
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(privateKey);
  writeFileSync(
    join(dir, 'auth.yaml'),
    `tokens:
  - { sha256: "${sha256(MEMBER_A)}", account: team-a, role: member }
  - { sha256: "${sha256(MEMBER_B)}", account: team-b, role: member }
  - { sha256: "${sha256(ADMIN)}", account: ops, role: admin }
oidc:
  - { issuer: "${ISSUER}", audience: sand-boxer, jwks: jwks.json, match: { repository_owner: acme }, account: team-a }
`,
  );
  env = {
    SANDBOXER_STATE: db.url,
    SANDBOXER_HOSTS: writeTestbedHostsFile(testbed, dir),
    SANDBOXER_COMPOSE_CMD: 'docker-compose',
    // The tokens of the auth file, for the secret scan (they are never in an output).
    SANDBOXER_API_TOKENS: '',
  };
  replicas = [await startReplica('replica-1'), await startReplica('replica-2')];
});

afterAll(async () => {
  for (const replica of replicas) await replica.stop();
  db?.drop();
});

async function call(replica: ServerProcess, token: string, method: string, path: string, body?: unknown) {
  const response = await replica.fetch(path, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
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
  return { status: response.status, json, text };
}

const r1 = () => replicas[0] as ServerProcess;
const r2 = () => replicas[1] as ServerProcess;
const stub = (extra: Record<string, unknown> = {}) => ({
  profile: 'saas-stub',
  inputs: { repo: 'sample-repo' },
  ttl: '10m',
  ...extra,
});

async function waitFor(replica: ServerProcess, token: string, id: string, states: string[], ms = 60_000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const { json } = await call(replica, token, 'GET', `/v1/sandboxes/${id}`);
    if (states.includes(json.state)) return json;
    if (Date.now() > deadline) throw new Error(`sandbox ${id} still ${json.state}`);
    await sleep(200);
  }
}

describe('two replicas on one database behave as one service', () => {
  test('30 concurrent creates for an account that can afford 3: exactly 3 admitted, the rest refused', async () => {
    // saas-stub: 0.5 credits a minute, 10 minutes → 5 credits a sandbox; 15 credits buy 3.
    expect((await call(r1(), ADMIN, 'POST', '/v1/credits/team-a/grants', { amount: 15 })).status).toBe(201);
    const attempts = await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        call(i % 2 ? r2() : r1(), MEMBER_A, 'POST', '/v1/sandboxes', stub()),
      ),
    );
    const admitted = attempts.filter((a) => a.status === 202);
    const refused = attempts.filter((a) => a.status !== 202);
    expect(admitted).toHaveLength(3);
    expect(new Set(refused.map((r) => `${r.status} ${r.json.code}`))).toEqual(
      new Set(['402 INSUFFICIENT_CREDITS']),
    );
    for (const a of admitted) await waitFor(r1(), MEMBER_A, a.json.id, ['ready']);
    for (const a of admitted) {
      expect((await call(r2(), MEMBER_A, 'DELETE', `/v1/sandboxes/${a.json.id}`)).json.state).toBe(
        'destroyed',
      );
    }
    const balance = (await call(r2(), MEMBER_A, 'GET', '/v1/credits/team-a')).json;
    expect(balance.held).toBe(0);
    expect(balance.balance).toBeGreaterThanOrEqual(0);
    const history: Array<{ kind: string; hold?: string; id: string; sandbox?: string }> = (
      await call(r1(), ADMIN, 'GET', '/v1/credits/team-a/history')
    ).json;
    const holds = history.filter((e) => e.kind === 'hold');
    expect(holds).toHaveLength(3);
    for (const hold of holds)
      expect(history.filter((e) => e.kind === 'release' && e.hold === hold.id)).toHaveLength(1);
    expect(history.filter((e) => e.kind === 'debit')).toHaveLength(3);
  });

  test('a sandbox created through replica 1 is listed, snapshotted and destroyed through replica 2', async () => {
    await call(r1(), ADMIN, 'POST', '/v1/credits/team-a/grants', { amount: 20 });
    const created = await call(r1(), MEMBER_A, 'POST', '/v1/sandboxes?wait=true', stub());
    expect(created.status).toBe(201);
    const { id } = created.json;
    expect(
      (await call(r2(), MEMBER_A, 'GET', '/v1/sandboxes')).json.map((r: { id: string }) => r.id),
    ).toContain(id);
    const snap = await call(r2(), MEMBER_A, 'POST', `/v1/sandboxes/${id}/snapshots`, {
      name: 'cross-replica',
    });
    expect(snap.status).toBe(201);
    expect((await call(r1(), MEMBER_A, 'GET', '/v1/snapshots/cross-replica')).json.id).toBe(snap.json.id);
    expect((await call(r2(), MEMBER_A, 'DELETE', `/v1/sandboxes/${id}`)).json.state).toBe('destroyed');
    expect((await call(r1(), MEMBER_A, 'GET', `/v1/sandboxes/${id}`)).json.state).toBe('destroyed');
    await call(r1(), MEMBER_A, 'DELETE', `/v1/snapshots/${snap.json.id}`);
  });

  test('member B cannot see, destroy, snapshot or spend for account A; a member cannot grant', async () => {
    const mine = await call(r1(), MEMBER_A, 'POST', '/v1/sandboxes?wait=true', stub());
    const { id } = mine.json;
    for (const [method, path, body] of [
      ['GET', `/v1/sandboxes/${id}`],
      ['DELETE', `/v1/sandboxes/${id}`],
      ['POST', `/v1/sandboxes/${id}/snapshots`, {}],
    ] as Array<[string, string, unknown?]>) {
      expect((await call(r2(), MEMBER_B, method, path, body)).status, `${method} ${path}`).toBe(404);
    }
    expect((await call(r2(), MEMBER_B, 'POST', '/v1/sandboxes', stub({ account: 'team-a' }))).status).toBe(
      403,
    );
    expect((await call(r2(), MEMBER_B, 'POST', '/v1/credits/team-b/grants', { amount: 1 })).status).toBe(403);
    expect((await call(r2(), 'wrong-token-0123456789abcdef', 'GET', '/v1/sandboxes')).status).toBe(401);
    await call(r1(), MEMBER_A, 'DELETE', `/v1/sandboxes/${id}`);
    for (const replica of replicas) {
      for (const secret of [MEMBER_A, MEMBER_B, ADMIN]) expect(replica.log()).not.toContain(secret);
    }
  });
});

describe('the CLI as a client of the server', () => {
  const cli = (token: string, args: string[]) =>
    sandboxer(args, {
      SANDBOXER_SERVER: r2().url,
      SANDBOXER_TOKEN: token,
      SANDBOXER_HOME: join(dir, 'cli-home'),
    });

  test('create, list, status, destroy, credits, estimate and route print as locally, with the same exit codes', async () => {
    await call(r1(), ADMIN, 'POST', '/v1/credits/team-a/grants', { amount: 10 });
    const created = cli(MEMBER_A, [
      'create',
      '--profile',
      'saas-stub',
      '--input',
      'repo=sample-repo',
      '--ttl',
      '10m',
      '--json',
      '-v',
    ]);
    expect(created.code, created.stderr).toBe(0);
    expect(created.json).toMatchObject({ state: 'ready', account: 'team-a', profile: 'profile.saas-stub' });
    expect(created.json).not.toHaveProperty('operation');
    expect(created.stderr).toMatch(/sandbox [a-z0-9]{12}: ready/);
    const { id } = created.json;
    expect(cli(MEMBER_A, ['list', '--json']).json.map((r: { id: string }) => r.id)).toEqual([id]);
    expect(cli(MEMBER_A, ['status', id]).stdout).toMatch(new RegExp(`^sandbox +${id}\\nstate +ready`));
    expect(cli(MEMBER_B, ['status', id]).code).toBe(3);
    expect(cli(MEMBER_A, ['credits', 'balance', 'team-a', '--json']).json).toMatchObject({
      account: 'team-a',
    });
    expect(cli(MEMBER_A, ['credits', 'grant', 'team-a', '5']).code).toBe(12);
    expect(cli(MEMBER_A, ['estimate', '--profile', 'saas-stub', '--ttl', '10m']).stdout).toBe(
      'profile.saas-stub for 10m on ext.saas-stub: 5 credits (0.5 per minute, billed per started minute)\n',
    );
    expect(
      cli(MEMBER_A, ['route', '--profile', 'saas-stub', '--input', 'repo=sample-repo', '--json']).json,
    ).toMatchObject({
      account: 'team-a',
      chosen: { extension: 'ext.saas-stub' },
    });
    expect(cli(MEMBER_A, ['destroy', id, '--json']).json.state).toBe('destroyed');
    expect(cli(MEMBER_A, ['exec', id, '--', 'true']).stderr).toContain("works on this machine's state");
  });

  test('credits export (admin): CSV with the documented header, one row per entry', () => {
    const csv = cli(ADMIN, ['credits', 'export', '--account', 'team-a', '--format', 'csv']);
    expect(csv.code, csv.stderr).toBe(0);
    const [header, ...rows] = csv.stdout.trimEnd().split('\r\n');
    expect(header).toBe(
      'entry_id,at,account,kind,credits,sandbox,profile,consumer,started_at,ended_at,hold,note',
    );
    expect(rows.length).toBeGreaterThan(10);
    expect(cli(MEMBER_A, ['credits', 'export', '--format', 'csv']).code).toBe(12);
  });
});

describe('failures', () => {
  test('replica 1 killed mid-create (compose-ssh): replica 2 rolls it back; nothing left; no credits held', async () => {
    const started = await call(r1(), ADMIN, 'POST', '/v1/sandboxes', {
      profile: 'compose-e2e',
      inputs: { repo: 'compose-http' },
      host: 'docker1',
    });
    expect(started.status).toBe(202);
    const { id } = started.json;
    // Killed while it provisions: the record says `provisioning`, and nobody will finish it.
    r1().child.kill('SIGKILL');
    await r1()
      .stop()
      .catch(() => {});
    const ended = await waitFor(r2(), ADMIN, id, ['failed', 'destroyed'], 60_000);
    expect(ended.state).toMatch(/failed|destroyed/);
    expect(projectResources(id)).toEqual([]);
    expect(allSandboxLeftovers([testbed.sandboxBase])).toEqual([]);
    expect(
      (await call(r2(), ADMIN, 'GET', '/v1/credits')).json.every((b: { held: number }) => b.held === 0),
    ).toBe(true);
    expect(r2().log()).toContain(`reaper: sandbox ${id} was left provisioning by a process that is gone`);
    replicas[0] = await startReplica('replica-1');
  });

  test('a leased sandbox outlives the replica it was made on: replica 2 renews it, then its reaper ends it once renewals stop', async () => {
    const created = await call(r1(), ADMIN, 'POST', '/v1/sandboxes?wait=true', {
      profile: 'compose-e2e',
      inputs: { repo: 'compose-http' },
      host: 'docker1',
      lease: '20s',
    });
    expect(created.status, created.text).toBe(201);
    const { id } = created.json;
    r1().child.kill('SIGKILL');
    await r1()
      .stop()
      .catch(() => {});
    // Longer than the lease, renewed only through replica 2 (which renews on the host).
    for (let i = 0; i < 6; i++) {
      const renewed = await call(r2(), ADMIN, 'POST', `/v1/sandboxes/${id}/lease`, {});
      expect(renewed.status, renewed.text).toBe(200);
      await sleep(4000);
    }
    expect(projectResources(id).length).toBeGreaterThan(0);
    const stopped = Date.now();
    const ended = await waitFor(r2(), ADMIN, id, ['destroyed'], 40_000);
    while (projectResources(id).length > 0 && Date.now() - stopped < 40_000) await sleep(500);
    const took = (Date.now() - stopped) / 1000;
    console.log(`lease 20s through replica 2: gone ${took.toFixed(1)} s after the last renewal`);
    expect(ended.state).toBe('destroyed');
    expect(projectResources(id)).toEqual([]);
    expect(took).toBeLessThan(35);
    expect((await call(r2(), ADMIN, 'POST', `/v1/sandboxes/${id}/lease`, {})).status).toBe(409);
    replicas[0] = await startReplica('replica-1');
  }, 120_000);

  test('PostgreSQL restarted under load: 503 while it is down, then work again; no lost or duplicated entries', async () => {
    await call(r1(), ADMIN, 'POST', '/v1/credits/team-b/grants', { amount: 200 });
    let stop = false;
    const statuses: number[] = [];
    const made: string[] = [];
    const load = (async () => {
      for (let i = 0; !stop; i++) {
        const replica = i % 2 ? r2() : r1();
        const created = await call(replica, MEMBER_B, 'POST', '/v1/sandboxes?wait=true', stub()).catch(
          () => ({
            status: 0,
            json: {},
          }),
        );
        statuses.push(created.status);
        if (created.status === 201) {
          made.push(created.json.id);
          // As any client would: a destroy refused while the database is away is sent again.
          for (let attempt = 0; attempt < 100; attempt++) {
            const destroyed = await call(
              replica,
              MEMBER_B,
              'DELETE',
              `/v1/sandboxes/${created.json.id}`,
            ).catch(() => ({
              status: 0,
              json: {},
            }));
            statuses.push(destroyed.status);
            if (destroyed.status === 200) break;
            await sleep(200);
          }
        }
      }
    })();
    await sleep(1500);
    cluster.stop();
    await sleep(2000);
    await cluster.start();
    await sleep(3000);
    stop = true;
    await load;
    expect(statuses).toContain(503);
    const after = statuses.slice(statuses.lastIndexOf(503) + 1);
    expect(after.filter((s) => s === 201 || s === 200).length).toBeGreaterThan(0);
    // The reaper finishes whatever the outage cut short (two passes of 2 s), then the books balance.
    const deadline = Date.now() + 30_000;
    let live: Array<{ id: string; state: string }> = [];
    do {
      await sleep(1000);
      live = (await call(r2(), MEMBER_B, 'GET', '/v1/sandboxes')).json;
    } while (live.length > 0 && Date.now() < deadline);
    expect(live).toEqual([]);
    const history: Array<{ id: string; kind: string; hold?: string; sandbox?: string }> = (
      await call(r2(), ADMIN, 'GET', '/v1/credits/team-b/history')
    ).json;
    expect(new Set(history.map((e) => e.id)).size).toBe(history.length);
    for (const hold of history.filter((e) => e.kind === 'hold')) {
      expect(history.filter((e) => e.kind === 'release' && e.hold === hold.id).length).toBeLessThanOrEqual(1);
    }
    for (const id of made)
      expect(history.filter((e) => e.kind === 'debit' && e.sandbox === id)).toHaveLength(1);
    const balance = (await call(r2(), MEMBER_B, 'GET', '/v1/credits/team-b')).json;
    expect(balance.balance).toBeGreaterThanOrEqual(0);
    expect(balance.held).toBe(0);
    for (const replica of replicas) expect(replica.child.exitCode).toBeNull();
  });
});

describe('the action as a client of the server', () => {
  let tokenEndpoint: Server | undefined;
  afterAll(() => tokenEndpoint?.close());

  test('server-url + server-token: main creates through the server, post destroys through it', async () => {
    await call(r1(), ADMIN, 'POST', '/v1/credits/team-a/grants', { amount: 10 });
    const job = newJob(root);
    const inputs = {
      profile: 'saas-stub',
      inputs: 'repo=sample-repo\n',
      ttl: '10m',
      'server-url': r2().url,
      'server-token': MEMBER_A,
    };
    const main = await runStep(job, 'main', inputs);
    expect(main.code, main.stdout).toBe(0);
    const id = parseCommandFile(job.outputFile)['sandbox-id'] as string;
    expect((await call(r1(), MEMBER_A, 'GET', `/v1/sandboxes/${id}`)).json).toMatchObject({
      state: 'ready',
      account: 'team-a',
    });
    const post = await runStep(job, 'post', inputs);
    expect(post.code).toBe(0);
    expect(post.stdout).toContain(`sand-boxer: sandbox ${id} destroyed`);
    expect((await call(r1(), MEMBER_A, 'GET', `/v1/sandboxes/${id}`)).json.state).toBe('destroyed');
    // Masked: the runner consumes `::add-mask::` lines; nothing else may show the token.
    const shown = (main.stdout + post.stdout)
      .split('\n')
      .filter((line) => !line.startsWith('::add-mask::'))
      .join('\n');
    expect(shown).not.toContain(MEMBER_A);
    expect(main.stdout).toContain(`::add-mask::${MEMBER_A}`);
  });

  test('no server-token: the job logs in with its GitHub OIDC token (a local issuer stands in for GitHub)', async () => {
    const jwt = await signJob({
      repository_owner: 'acme',
      repository: 'acme/web',
      sub: 'repo:acme/web:ref:refs/heads/main',
    });
    tokenEndpoint = createServer((req, res) => {
      const ok =
        req.headers.authorization === 'Bearer runtime-request-token' &&
        req.url?.includes('audience=sand-boxer');
      res.writeHead(ok ? 200 : 403, { 'content-type': 'application/json' });
      res.end(JSON.stringify(ok ? { value: jwt } : { message: 'no' }));
    });
    await new Promise<void>((resolve) => tokenEndpoint?.listen(0, '127.0.0.1', resolve));
    const port = (tokenEndpoint.address() as { port: number }).port;
    const job = newJob(root);
    const inputs = { profile: 'saas-stub', inputs: 'repo=sample-repo\n', ttl: '10m', 'server-url': r1().url };
    const extra = {
      ACTIONS_ID_TOKEN_REQUEST_URL: `http://127.0.0.1:${port}/token?x=1`,
      ACTIONS_ID_TOKEN_REQUEST_TOKEN: 'runtime-request-token',
    };
    const main = await runStep(job, 'main', inputs, extra);
    expect(main.code, main.stdout).toBe(0);
    const id = parseCommandFile(job.outputFile)['sandbox-id'] as string;
    expect((await call(r1(), ADMIN, 'GET', `/v1/sandboxes/${id}`)).json.account).toBe('team-a');
    expect((await runStep(job, 'post', inputs, extra)).code).toBe(0);
    expect((await call(r1(), ADMIN, 'GET', `/v1/sandboxes/${id}`)).json.state).toBe('destroyed');
  });
});

describe('state import', () => {
  test('a file store is copied in; running it again copies nothing twice', async () => {
    const home = mkdtempSync(join(tmpdir(), 'sbx-import-'));
    const local = { SANDBOXER_HOME: home };
    const made = sandboxer(
      ['create', '--profile', 'saas-stub', '--input', `repo=${join(fixtures, 'sample-repo')}`, '--json'],
      local,
    );
    expect(made.code).toBe(0);
    sandboxer(['destroy', made.json.id], local);
    const target = { SANDBOXER_STATE: db.url, SANDBOXER_HOME: home };
    const first = sandboxer(['state', 'import', '--from', home, '--json'], target);
    expect(first.code, first.stderr).toBe(0);
    expect(first.json).toMatchObject({ sandboxes: 1, ledger_entries: 4, kept: 0 });
    expect(first.stdout).not.toContain(new URL(db.url).password);
    const again = sandboxer(['state', 'import', '--from', home, '--json'], target);
    expect(again.json).toMatchObject({ sandboxes: 0, ledger_entries: 0, kept: 1 });
    expect((await call(r1(), ADMIN, 'GET', `/v1/sandboxes/${made.json.id}`)).json.state).toBe('destroyed');
    expect(sandboxer(['state', 'migrate', '--json'], target).json.applied).toEqual([]);
  });
});
