import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { sandboxer } from './support/cli.js';
import { allSandboxLeftovers, projectResources } from './support/docker.js';
import { homeOf, type Sshd, secondSshd, startSshd, stopSshd } from './support/faults.js';
import { type ServerProcess, startServe } from './support/server.js';
import { loadTestbed, type Testbed } from './support/testbed.js';

/**
 * Leases (issue 20): a sandbox created with --lease is torn down by its host when its keeper stops
 * renewing it (the runner vanished), not at its TTL; a blip shorter than the lease costs nothing.
 * On the testbed's second sshd (127.0.0.2), which these tests stop and start.
 */

const fixtures = join(import.meta.dirname, '..', 'fixtures');
const LEASE = 20;
let testbed: Testbed;
let sshd2: Sshd;
let base: string;

function env(): Record<string, string> {
  const home = mkdtempSync(join(tmpdir(), 'sbx-lease-'));
  writeFileSync(
    join(home, 'hosts.yaml'),
    `hosts:
  docker2:
    address: ${testbed.host2}
    port: ${testbed.port}
    user: ${testbed.user}
    identity_file: ${testbed.key}
    known_hosts: ${testbed.knownHosts}
    base_dir: ${base}
`,
  );
  return {
    SANDBOXER_HOME: home,
    SANDBOXER_HOSTS: join(home, 'hosts.yaml'),
    SANDBOXER_COMPOSE_CMD: 'docker-compose',
  };
}

/** Running (a zombie nobody has reaped yet counts as gone: a detached keeper's parent is init). */
const alive = (pid: number) => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
};

function create(e: Record<string, string>) {
  const created = sandboxer(
    [
      'create',
      '-p',
      'compose-e2e',
      '-i',
      `repo=${join(fixtures, 'compose-http')}`,
      '--host',
      'docker2',
      '--lease',
      `${LEASE}s`,
      '--json',
    ],
    e,
  );
  expect(created.code, created.stderr).toBe(0);
  expect(created.json.lease_seconds).toBe(LEASE);
  const pid = created.json.keeper?.pid as number;
  expect(alive(pid)).toBe(true);
  return { id: created.json.id as string, dir: created.json.reachability.remote_dir as string, keeper: pid };
}

beforeAll(() => {
  testbed = loadTestbed();
  sshd2 = secondSshd(testbed);
  base = `${homeOf(testbed.user)}/sandboxer-h2`;
  mkdirSync(base, { recursive: true });
});

afterAll(async () => {
  await startSshd(sshd2);
  expect(allSandboxLeftovers([base])).toEqual([]);
});

describe('leases', () => {
  test('the keeper vanishes (SIGKILL): the host tears the sandbox down within the lease and 15 s', async () => {
    const e = env();
    const { id, dir, keeper } = create(e);
    expect(projectResources(id).length).toBeGreaterThan(0);
    // As a runner that vanished: its keeper killed, no post step, no destroy.
    process.kill(keeper, 'SIGKILL');
    const killed = Date.now();
    while (
      (projectResources(id).length > 0 || existsSync(dir)) &&
      Date.now() - killed < (LEASE + 30) * 1000
    ) {
      await sleep(500);
    }
    const took = (Date.now() - killed) / 1000;
    expect(projectResources(id)).toEqual([]);
    expect(existsSync(dir)).toBe(false);
    expect(took).toBeLessThan(LEASE + 15);
    console.log(
      `lease ${LEASE}s: the vanished runner's sandbox was gone ${took.toFixed(1)} s after its keeper died`,
    );
    const log = readFileSync(join(base, '.sandboxer-switch', 'reaped.log'), 'utf8');
    expect(log).toContain(`${id} lease lapsed (not renewed for ${LEASE}s)`);
    // The record is settled by a destroy, which finds nothing left to tear down.
    const settled = sandboxer(['destroy', id, '--json'], e);
    expect(settled.code, settled.stderr).toBe(0);
    expect(settled.json.state).toBe('destroyed');
  });

  test('a blip shorter than the lease (the host unreachable for 8 s) costs nothing; destroy stops the keeper', async () => {
    const e = env();
    const { id, dir, keeper } = create(e);
    await sleep(2000); // its first renewal has opened the keeper's connection
    await stopSshd(sshd2);
    await sleep(8000);
    await startSshd(sshd2);
    // Longer than the lease since the blip began: only renewals after it can have kept it.
    await sleep((LEASE + 2) * 1000 - 8000);
    expect(existsSync(dir)).toBe(true);
    expect(projectResources(id).length).toBeGreaterThan(0);
    expect(alive(keeper)).toBe(true);
    // Its one connection was cut with the sshd (sessions too), and it came back on a new one.
    const log = readFileSync(join(e.SANDBOXER_HOME as string, 'keepers', `${id}.log`), 'utf8');
    expect(log).toContain('connection: reconnected');
    const status = sandboxer(['status', id], e);
    expect(status.stdout).toMatch(
      new RegExp(
        `lease +${LEASE}s: torn down when not renewed for that long \\(renewed by keeper pid ${keeper}\\)`,
      ),
    );
    expect(sandboxer(['destroy', id], e).code).toBe(0);
    expect(alive(keeper)).toBe(false);
    expect(projectResources(id)).toEqual([]);
  }, 90_000);

  test('a host that rebooted (no sleeper left): gc on the host ends a sandbox whose lease lapsed', async () => {
    const e = env();
    const { id, dir, keeper } = create(e);
    // The reboot: the keeper (the runner) and the host's sleeper are gone; the stack is still there.
    process.kill(keeper, 'SIGKILL');
    const sleeper = Number(readFileSync(join(base, '.sandboxer-switch', `${id}.pid`), 'utf8'));
    process.kill(-sleeper, 'SIGKILL');
    await sleep((LEASE + 2) * 1000);
    expect(existsSync(dir)).toBe(true);
    // An operator's gc (a cron job) with a store that never knew the sandbox, like the runner's.
    const operator = env();
    const gc = sandboxer(['gc', '--host', 'docker2', '--json'], operator);
    expect(gc.code, gc.stderr).toBe(0);
    expect(gc.json).toContainEqual(
      expect.objectContaining({
        sandbox: id,
        reason: expect.stringMatching(/^unknown to this store, expired at /),
        result: 'done',
      }),
    );
    expect(projectResources(id)).toEqual([]);
    expect(existsSync(dir)).toBe(false);
    expect(sandboxer(['destroy', id], e).code).toBe(0);
  }, 90_000);

  test('a lease below 20 s is refused before anything is made', () => {
    const e = env();
    const short = sandboxer(
      ['create', '-p', 'compose-e2e', '-i', `repo=${fixtures}`, '--host', 'docker2', '--lease', '5s'],
      e,
    );
    expect(short.code).toBe(2);
    expect(short.stderr).toContain('lease: 5s must be at least 20s');
    expect(sandboxer(['list', '--all', '-q'], e).stdout).toBe('');
  });

  test('one keeper, one SSH connection: renewals reuse it (status shows the last renewal)', async () => {
    const e = env();
    const { id, keeper } = create(e);
    const seen: string[][] = [];
    await sleep(2000); // its first renewal opens the connection
    const sshdLog = join(testbed.dir, 'sshd_2.log');
    const loginsBefore = logins(sshdLog);
    expect(loginsBefore).toBeGreaterThan(0); // the create's own logins are there
    for (let i = 0; i < 3; i++) {
      seen.push(sshConnectionsOf(keeper));
      await sleep((LEASE / 4) * 1000 + 500); // one renewal between samples
    }
    // No renewal logged in again (a connection per renewal would show here, however short-lived).
    expect(logins(sshdLog) - loginsBefore).toBe(0);
    console.log(
      `keeper ${keeper}: its SSH connections over ${seen.length} renewals: ${JSON.stringify(seen)}`,
    );
    expect(seen.every((s) => s.length === 1 && s[0] === seen[0]?.[0])).toBe(true);
    const status = sandboxer(['status', id, '--json'], e).json;
    expect(Date.parse(status.lease_renewed_at)).toBeGreaterThan(Date.parse(status.ready_at));
    const text = sandboxer(['status', id], e).stdout;
    expect(text).toMatch(/renewed +\S+ \(\d+s ago\)/);
    expect(text).toMatch(/deadline +\S+ \(in \d+s\) unless renewed before/);
    expect(sandboxer(['destroy', id], e).code).toBe(0);
    expect(alive(keeper)).toBe(false);
  }, 60_000);
});

/** Logins an sshd has accepted so far, from its log. */
const logins = (log: string) => readFileSync(log, 'utf8').split('Accepted publickey').length - 1;

/** The keeper's established TCP connections to an sshd (`ss -tnp`), as `local->peer`. */
function sshConnectionsOf(pid: number): string[] {
  const out = execFileSync('ss', ['-tnpH', 'state', 'established'], { encoding: 'utf8' });
  return out
    .split('\n')
    .filter((line) => line.includes(`pid=${pid},`) && line.includes(`:${testbed.port} `))
    .map((line) => line.trim().split(/\s+/).slice(2, 4).join('->'));
}

const TOKEN = 'e2e-lease-token-0123456789';

describe('leases through a server (serve renews where the lease is kept; its reaper ends lapsed ones)', () => {
  let server: ServerProcess;
  let client: Record<string, string>;
  let served: Record<string, string>;

  beforeAll(async () => {
    served = { ...env(), SANDBOXER_API_TOKENS: TOKEN, SANDBOXER_INITIAL_CREDITS: '0' };
    expect(sandboxer(['credits', 'grant', 'lease-team', '100'], served).code).toBe(0);
    server = await startServe(served, ['--reap-interval', '2']);
    client = {
      SANDBOXER_HOME: mkdtempSync(join(tmpdir(), 'sbx-lease-client-')),
      SANDBOXER_SERVER: server.url,
      SANDBOXER_TOKEN: TOKEN,
    };
  });

  afterAll(async () => {
    await server?.stop();
  });

  /** Polls the server's record until `done` holds (or the time is up); resolves it. */
  async function untilRecord(id: string, done: (r: Record<string, unknown>) => boolean, seconds: number) {
    const until = Date.now() + seconds * 1000;
    for (;;) {
      const record = sandboxer(['status', id, '--json'], client).json;
      if (done(record) || Date.now() > until) return record;
      await sleep(500);
    }
  }

  test('saas-stub (no lease of its own): renewed over HTTP; keeper killed → the reaper ends it, billed to the last renewal', async () => {
    const created = sandboxer(
      [
        'create',
        '-p',
        'saas-stub',
        '-i',
        `repo=${join(fixtures, 'sample-repo')}`,
        '--account',
        'lease-team',
        '--lease',
        `${LEASE}s`,
        '--json',
      ],
      client,
    );
    expect(created.code, created.stderr).toBe(0);
    const { id, keeper } = { id: created.json.id as string, keeper: created.json.keeper.pid as number };
    expect(created.json.lease_seconds).toBe(LEASE);
    const renewed = await untilRecord(id, (r) => r.lease_renewed_at !== undefined, 15);
    expect(renewed.lease_renewed_at).toBeDefined();
    process.kill(keeper, 'SIGKILL');
    const killed = Date.now();
    const ended = await untilRecord(id, (r) => r.state === 'destroyed', LEASE + 15);
    const took = (Date.now() - killed) / 1000;
    console.log(
      `through serve, saas-stub: ended ${took.toFixed(1)} s after its keeper died (lease ${LEASE}s)`,
    );
    expect(ended.state).toBe('destroyed');
    expect(took).toBeLessThan(LEASE + 15);
    // Billed to its last renewal, not to when the reaper came.
    const cost = ended.cost as { duration: number };
    const lived = (Date.parse(ended.destroyed_at as string) - Date.parse(ended.created_at as string)) / 1000;
    expect(cost.duration).toBeLessThan(lived - LEASE / 2);
    // serve's stderr is a pipe, written asynchronously: the line may arrive after the record changed.
    for (let i = 0; i < 50 && !server.log().includes(`reaper: sandbox ${id}: lease lapsed`); i++)
      await sleep(100);
    expect(server.log()).toContain(`reaper: sandbox ${id}: lease lapsed`);
  }, 60_000);

  test('compose-ssh: the server renews on the host for its client; keeper killed → the host tears down and the record is settled', async () => {
    const created = sandboxer(
      [
        'create',
        '-p',
        'compose-e2e',
        '-i',
        `repo=${join(fixtures, 'compose-http')}`,
        '--host',
        'docker2',
        '--lease',
        `${LEASE}s`,
        '--json',
      ],
      client,
    );
    expect(created.code, created.stderr).toBe(0);
    const id = created.json.id as string;
    const keeper = created.json.keeper.pid as number;
    // Longer than the lease: only renewals (client → server → host) can have kept it.
    await sleep((LEASE + 3) * 1000);
    expect(projectResources(id).length).toBeGreaterThan(0);
    process.kill(keeper, 'SIGKILL');
    const killed = Date.now();
    const ended = await untilRecord(id, (r) => r.state === 'destroyed', LEASE + 15);
    while (projectResources(id).length > 0 && Date.now() - killed < (LEASE + 15) * 1000) await sleep(500);
    const took = (Date.now() - killed) / 1000;
    console.log(
      `through serve, compose-ssh: gone ${took.toFixed(1)} s after its keeper died (lease ${LEASE}s)`,
    );
    expect(projectResources(id)).toEqual([]);
    expect(ended.state).toBe('destroyed');
    expect(took).toBeLessThan(LEASE + 15);
  }, 90_000);
});
