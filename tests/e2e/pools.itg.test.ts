import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { type CliRun, sandboxer, sandboxerAsync } from './support/cli.js';
import { allSandboxLeftovers } from './support/docker.js';
import {
  homeOf,
  mountTmpfs,
  type Sshd,
  secondSshd,
  startSshd,
  stopSshd,
  unmountTmpfs,
} from './support/faults.js';
import { type TestDatabase, testDatabase } from './support/postgres.js';
import { loadTestbed, type Testbed } from './support/testbed.js';

/**
 * Issue 18: a pool of hosts behaves like one big host. The testbed's two sshd (127.0.0.1 and
 * 127.0.0.2, one Docker engine behind both) are two hosts of a pool: placement, "full", failover
 * when one is down or its disk is full, no failover for the user's own mistakes, and drain.
 */

const fixtures = join(import.meta.dirname, '..', 'fixtures');
let testbed: Testbed;
let sshd2: Sshd;
let base1: string;
let base2: string;
const FULL = `/srv/sandboxer-pools-full-${process.pid}`;

/** Every state directory a test made: whatever a failed test left is destroyed before the check. */
const envs: Array<Record<string, string>> = [];

/** A state directory and a hosts file: docker1 and docker2 in pool `docker`, 2 sandboxes each. */
function poolEnv(
  overrides: { base2?: string; docker2Extra?: string; cooldown?: string } = {},
): Record<string, string> {
  const home = mkdtempSync(join(tmpdir(), 'sbx-pools-'));
  const host = (address: string, base: string, extra = '') => `
    address: ${address}
    port: ${testbed.port}
    user: ${testbed.user}
    identity_file: ${testbed.key}
    known_hosts: ${testbed.knownHosts}
    base_dir: ${base}
    capacity: 2
    labels: [docker]${extra}`;
  writeFileSync(
    join(home, 'hosts.yaml'),
    `default: docker
hosts:
  docker1:${host(testbed.host1, base1)}
  docker2:${host(testbed.host2, overrides.base2 ?? base2, overrides.docker2Extra ?? '')}
pools:
  docker:
    labels: [docker]
    placement: least-loaded
    cooldown: ${overrides.cooldown ?? '4s'}
`,
  );
  const env = {
    SANDBOXER_HOME: home,
    SANDBOXER_HOSTS: join(home, 'hosts.yaml'),
    SANDBOXER_COMPOSE_CMD: 'docker-compose',
  };
  envs.push(env);
  return env;
}

const create = (env: Record<string, string>, fixture = 'compose-http', extra: string[] = []) =>
  sandboxer(
    ['create', '--profile', 'compose-e2e', '--input', `repo=${join(fixtures, fixture)}`, '--json', ...extra],
    env,
  );

function destroyAll(env: Record<string, string>): void {
  for (const record of sandboxer(['list', '--json'], env).json ?? []) {
    const destroyed = sandboxer(['destroy', record.id], env);
    if (destroyed.code !== 0) process.stderr.write(`destroy ${record.id}: ${destroyed.stderr}\n`);
  }
}

beforeAll(() => {
  testbed = loadTestbed();
  sshd2 = secondSshd(testbed);
  base1 = testbed.sandboxBase;
  base2 = `${homeOf(testbed.user)}/sandboxer-h2`;
});

afterEach(async () => {
  await startSshd(sshd2);
  for (const env of envs.splice(0)) destroyAll(env);
  expect(allSandboxLeftovers([base1, base2])).toEqual([]);
});

afterAll(() => {
  unmountTmpfs(FULL);
});

describe('placement', () => {
  test('4 concurrent creates land 2 on each host; the 5th fails (exit 8) naming both hosts full', async () => {
    const env = poolEnv();
    const runs: CliRun[] = await Promise.all(
      [1, 2, 3, 4].map(() =>
        sandboxerAsync(
          [
            'create',
            '--profile',
            'compose-e2e',
            '--input',
            `repo=${join(fixtures, 'compose-http')}`,
            '--json',
          ],
          env,
        ),
      ),
    );
    for (const run of runs) expect(run.code, run.stderr).toBe(0);
    const hosts = runs.map((r) => r.json.host).sort();
    expect(hosts).toEqual(['docker1', 'docker1', 'docker2', 'docker2']);
    const fifth = create(env);
    expect(fifth.code).toBe(8);
    expect(fifth.stderr).toContain(
      'ext.compose-ssh on docker1 (pool docker): host docker1 is full (2/2 live sandboxes)',
    );
    expect(fifth.stderr).toContain(
      'ext.compose-ssh on docker2 (pool docker): host docker2 is full (2/2 live sandboxes)',
    );
    const overview = sandboxer(['hosts', '--json'], env).json;
    expect(
      overview.hosts.map((h: { host: string; live: number; capacity: number }) => [
        h.host,
        h.live,
        h.capacity,
      ]),
    ).toEqual([
      ['docker1', 2, 2],
      ['docker2', 2, 2],
    ]);
    expect(overview.pools).toEqual([
      { pool: 'docker', placement: 'least-loaded', hosts: ['docker1', 'docker2'], live: 4, capacity: 4 },
    ]);
    const explained = sandboxer(
      ['route', '--profile', 'compose-e2e', '--input', `repo=${join(fixtures, 'compose-http')}`, '--explain'],
      env,
    );
    expect(explained.code, 'route exits 8 when nothing is feasible, as the create did').toBe(8);
    expect(explained.stdout).toMatch(/docker2 \(pool docker\) .*rejected: host docker2 is full/);
    destroyAll(env);
  });
});

describe('placement with the shared PostgreSQL state', () => {
  let db: TestDatabase | undefined;
  afterAll(() => db?.drop());

  test('6 creates at once from separate processes on one database: 4 made, 2 per host, never more', async () => {
    db = await testDatabase('sbx_pools');
    const env = poolEnv();
    env.SANDBOXER_STATE = db.url; // the same object afterEach cleans up with
    const runs = await Promise.all(
      Array.from({ length: 6 }, () =>
        sandboxerAsync(
          [
            'create',
            '--profile',
            'compose-e2e',
            '--input',
            `repo=${join(fixtures, 'compose-http')}`,
            '--json',
          ],
          env,
        ),
      ),
    );
    const made = runs.filter((r) => r.code === 0);
    expect(made.map((r) => r.json.host).sort()).toEqual(['docker1', 'docker1', 'docker2', 'docker2']);
    expect(runs.filter((r) => r.code === 8)).toHaveLength(2);
    destroyAll(env);
  });
});

describe('failover', () => {
  test("one host's sshd stopped: creates land on the other, saying why; started again, it takes sandboxes after its cool-down", async () => {
    const env = poolEnv();
    const first = create(env);
    expect(first.json.host).toBe('docker1'); // both empty: the file's order
    await stopSshd(sshd2);
    const moved = create(env, 'compose-http', ['-v']);
    expect(moved.code, moved.stderr).toBe(0);
    expect(moved.json.host).toBe('docker1');
    expect(moved.json.routing).toEqual([
      {
        extension: 'ext.compose-ssh',
        host: 'docker2',
        pool: 'docker',
        reasons: [expect.stringMatching(/^failed: cannot reach 127\.0\.0\.2:2222\b.*connection refused/)],
      },
    ]);
    expect(moved.stderr).toMatch(
      /host docker2 failed \(cannot reach 127\.0\.0\.2:2222.*\); trying the next host of pool docker/,
    );
    const health = sandboxer(['hosts', '--json'], env).json.hosts.find(
      (h: { host: string }) => h.host === 'docker2',
    );
    expect(health).toMatchObject({
      health: 'resting',
      last_error: { message: expect.stringMatching(/connection refused/) },
    });
    await startSshd(sshd2);
    // Still resting: docker1 is full now, and docker2 is passed over until its cool-down ends.
    const whileResting = create(env);
    expect(whileResting.code).toBe(8);
    expect(whileResting.stderr).toMatch(/host docker2 is resting after a failure/);
    await sleep(4500);
    const back = create(env);
    expect(back.code, back.stderr).toBe(0);
    expect(back.json.host).toBe('docker2');
    destroyAll(env);
  });

  test("one host's base dir on a full disk: failover to the other, nothing left on the full one", async () => {
    mountTmpfs(FULL, 256 * 1024, testbed.user);
    // Filled to the last byte: the sync cannot write a file there.
    spawnSync('dd', ['if=/dev/zero', `of=${FULL}/filler`, 'bs=4k'], { stdio: 'ignore' });
    try {
      const env = poolEnv({ base2: FULL });
      const occupant = create(env); // docker1 gets the first, so docker2 is tried first next
      expect(occupant.json.host).toBe('docker1');
      const moved = create(env, 'compose-http', ['-v']);
      expect(moved.code, moved.stderr).toBe(0);
      expect(moved.json.host).toBe('docker1');
      expect(moved.json.routing[0].reasons[0]).toMatch(/^failed: the disk is full/);
      expect(readdirSync(FULL).filter((name) => name.startsWith('sbx-'))).toEqual([]);
      destroyAll(env);
    } finally {
      unmountTmpfs(FULL);
    }
  });

  test('a host below its min_free_disk is passed over before anything is made there', () => {
    const env = poolEnv({ docker2Extra: '\n    min_free_disk: 1000t' });
    expect(create(env).json.host).toBe('docker1');
    const moved = create(env);
    expect(moved.code, moved.stderr).toBe(0);
    expect(moved.json.routing[0].reasons[0]).toMatch(
      /^failed: host docker2 has .* free under its base dir \(its min_free_disk is 1000\.0 TiB\)/,
    );
    destroyAll(env);
  });

  test("a user's mistake (a broken compose file) is not tried on the next host", () => {
    const env = poolEnv();
    const broken = create(env, 'compose-broken');
    expect(broken.code).toBe(4);
    const record = sandboxer(['list', '--all', '--json'], env).json[0];
    expect(record).toMatchObject({ state: 'failed', host: 'docker1' });
    expect(record.routing).toBeUndefined();
    expect(sandboxer(['hosts', '--json'], env).json.hosts.map((h: { health: string }) => h.health)).toEqual([
      'healthy',
      'healthy',
    ]);
  });
});

describe('drain', () => {
  test('new sandboxes avoid a drained host; the ones there live on and can be destroyed', () => {
    const env = poolEnv();
    const there = create(env);
    expect(there.json.host).toBe('docker1');
    expect(sandboxer(['hosts', 'drain', 'docker1'], env).code).toBe(0);
    const next = [create(env), create(env)];
    expect(next.map((r) => r.json.host)).toEqual(['docker2', 'docker2']);
    expect(create(env).stderr).toMatch(/host docker1 is drained/);
    expect(sandboxer(['status', there.json.id, '--json'], env).json.state).toBe('ready');
    expect(sandboxer(['hosts', '--json'], env).json.hosts[0]).toMatchObject({
      host: 'docker1',
      health: 'drained',
      live: 1,
    });
    expect(sandboxer(['destroy', there.json.id, '--json'], env).json.state).toBe('destroyed');
    expect(sandboxer(['hosts', 'undrain', 'docker1'], env).code).toBe(0);
    expect(create(env).json.host).toBe('docker1');
    destroyAll(env);
  });
});
