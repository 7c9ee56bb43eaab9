import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeAll, describe, expect, test } from 'vitest';
import { sandboxer } from './support/cli.js';
import {
  builtImages,
  defineComposeCases,
  fixtures,
  type RuntimeTarget,
  targetEnv,
} from './support/compose-cases.js';
import { engine, engineLeftovers, removeEngineLeftovers } from './support/engine.js';
import { loadTestbed, type Testbed } from './support/testbed.js';

/**
 * ext.compose-ssh on a Podman host (issue 21): Debian 12's podman 4.3 and podman-compose 1.0.3 on
 * the testbed's third sshd (127.0.0.3, as root: rootful Podman), through the real CLI. Everything the
 * Docker files prove for Compose v1 that a Podman host must do too; a failure here is Podman's.
 * One rootless case runs as the test user. Podman here has no systemd, so no health-check timers:
 * readiness runs the overdue checks itself (diagnose.ts).
 */

let testbed: Testbed;
let rootful: RuntimeTarget;
let env: Record<string, string>;

beforeAll(() => {
  testbed = loadTestbed();
  const host = testbed.env.SANDBOXER_TESTBED_PODMAN_HOST;
  if (!host) throw new Error('the testbed has no Podman host: re-run `sudo bash tests/testbed/up.sh`');
  rootful = {
    compose: 'podman-compose',
    user: testbed.env.SANDBOXER_TESTBED_PODMAN_USER ?? 'root',
    address: host,
    base: testbed.env.SANDBOXER_TESTBED_PODMAN_BASE ?? '/srv/sandboxer-podman',
    engine: engine('podman'),
    upWaitsForHealth: false,
  };
  // A killed earlier run's leftovers must not be blamed on this one.
  removeEngineLeftovers(rootful.engine, [rootful.base]);
  env = targetEnv(testbed, rootful);
});

afterEach(() => {
  expect(engineLeftovers(rootful.engine, [rootful.base])).toEqual([]);
});

const create = (fixture: string, ...args: string[]) =>
  sandboxer(['create', '-p', 'compose-e2e', '-i', `repo=${join(fixtures, fixture)}`, ...args, '--json'], env);

describe('ext.compose-ssh on Podman (podman-compose 1.0.3, rootful)', () => {
  test('create → HTTP through the endpoint → logs → exec → forward → destroy leaves no pod, container, network or volume', async () => {
    const created = create('compose-http', '-i', 'env=GREETING=hi from podman');
    expect(created.code, created.stderr).toBe(0);
    const record = created.json;
    expect(record.handle).toMatchObject({
      compose_command: 'podman-compose',
      compose_project: `sbx-${record.id}`,
    });
    const endpoint = record.reachability.endpoints['web:8080'];
    expect(endpoint).toMatch(/^127\.0\.0\.1:\d+$/);
    expect((await (await fetch(`http://${endpoint}/`)).text()).trim()).toBe('hello from sand-boxer');
    // Compose's labels, as gc and the sweep read them, on Podman's containers.
    const [cid = ''] = rootful.engine.run(
      'ps',
      '-q',
      '--filter',
      `label=dev.sandboxer.sandbox-id=${record.id}`,
    );
    const labels = JSON.parse(
      rootful.engine.run('inspect', '--format', '{{json .Config.Labels}}', cid)[0] ?? '{}',
    );
    expect(labels).toMatchObject({
      'com.docker.compose.service': 'web',
      'dev.test.greeting': 'hi from podman',
    });

    const exec = sandboxer(['exec', record.id, '--service', 'web', '--', 'cat', '/srv/index.html'], env);
    expect(exec.code, exec.stderr).toBe(0);
    expect(exec.stdout.trim()).toBe('hello from sand-boxer');
    expect(sandboxer(['logs', record.id], env).code).toBe(0);

    const forward = sandboxer(['forward', record.id, 'web:8080', '--detach', '--json'], env);
    expect(forward.code, forward.stderr).toBe(0);
    const local = JSON.stringify(forward.json).match(/127\.0\.0\.1:(\d+)/)?.[0];
    expect(local).toBeDefined();
    expect((await (await fetch(`http://${local}/`)).text()).trim()).toBe('hello from sand-boxer');

    const destroyed = sandboxer(['destroy', record.id, '--json'], env);
    expect(destroyed.code, destroyed.stderr).toBe(0);
    expect(destroyed.json.cleanup?.leftovers ?? []).toEqual([]);
  });

  defineComposeCases(() => ({ t: rootful, env }));

  test('snapshot (pause) and restore of a named volume', async () => {
    const created = create('compose-stateful');
    expect(created.code, created.stderr).toBe(0);
    const id = created.json.id as string;
    const write = (v: string) =>
      expect(
        sandboxer(['exec', id, '--service', 'web', '--', 'sh', '-c', `echo ${v} > /srv/vol/version.txt`], env)
          .code,
      ).toBe(0);
    const served = async (record: { reachability: { endpoints: Record<string, string> } }) =>
      (
        await (await fetch(`http://${record.reachability.endpoints['web:8080']}/vol/version.txt`)).text()
      ).trim();
    write('A');
    const taken = sandboxer(['snapshot', 'create', id, '--json'], env);
    expect(taken.code, taken.stderr).toBe(0);
    expect(taken.json).toMatchObject({
      status: 'ready',
      consistency: 'pause',
      contents: { volumes: [{ key: 'data' }] },
    });
    write('B');
    const restored = sandboxer(['restore', taken.json.id, '--json'], env);
    expect(restored.code, restored.stderr).toBe(0);
    expect(await served(restored.json)).toBe('A');
    expect(await served(created.json)).toBe('B');
    for (const sandbox of [id, restored.json.id]) expect(sandboxer(['destroy', sandbox], env).code).toBe(0);
    expect(sandboxer(['snapshot', 'delete', taken.json.id], env).code).toBe(0);
  });

  test('gc finds a sandbox this store does not know by its Podman labels, and removes it with its built image', () => {
    const created = create('compose-build');
    expect(created.code, created.stderr).toBe(0);
    const id = created.json.id as string;
    expect(builtImages(rootful, id)).toHaveLength(1);
    // Another machine's store: only the host knows the sandbox.
    const stranger = targetEnv(testbed, rootful);
    const dry = sandboxer(['gc', '--dry-run', '--json'], stranger);
    expect(dry.code, dry.stderr).toBe(0);
    const finding = dry.json.find((f: { sandbox: string }) => f.sandbox === id);
    expect(finding?.found).toMatch(/container [0-9a-f]{12}/);
    expect(finding?.found).toMatch(new RegExp(`image (localhost/)?sbx-${id}_app:latest`));
    const gc = sandboxer(['gc', '--unknown', '--json'], stranger);
    expect(gc.code, gc.stderr).toBe(0);
    expect(gc.json).toContainEqual(
      expect.objectContaining({ sandbox: id, action: 'destroy', result: 'done' }),
    );
    expect(builtImages(rootful, id)).toEqual([]);
    // The record in the creator's store is settled by its own gc (the sandbox is gone on the host).
    expect(sandboxer(['gc', '--json'], env).code).toBe(0);
  });

  test('an image left alone (its sandbox long gone) is an orphan gc removes', () => {
    const orphan = 'sbx-zzzzzzzzzzzz_app:latest';
    rootful.engine.run('tag', 'sandboxer-test/busybox:latest', orphan);
    const gc = sandboxer(['gc', '--unknown', '--json'], targetEnv(testbed, rootful));
    expect(gc.code, gc.stderr).toBe(0);
    expect(gc.json).toContainEqual(
      expect.objectContaining({
        sandbox: 'zzzzzzzzzzzz',
        found: `image localhost/${orphan}`,
        result: 'done',
      }),
    );
    expect(rootful.engine.run('images', '--format', '{{.Repository}}:{{.Tag}}')).not.toContain(
      `localhost/${orphan}`,
    );
  });

  test('the host-side expiry switch removes the stack with Podman at the TTL', async () => {
    const created = create('compose-http', '--ttl', '15s');
    expect(created.code, created.stderr).toBe(0);
    const id = created.json.id as string;
    const expiresAt = Date.parse(created.json.expires_at);
    const mine = () => engineLeftovers(rootful.engine, [rootful.base], 0).filter((l) => l.includes(id));
    while (mine().length > 0 && Date.now() < expiresAt + 40_000) await sleep(500);
    expect(mine()).toEqual([]);
    const log = readFileSync(join(rootful.base, '.sandboxer-switch', 'reaped.log'), 'utf8');
    expect(log).toMatch(new RegExp(`Z ${id} expired: torn down by the host-side switch`));
    expect(sandboxer(['gc', '--json'], env).code).toBe(0);
    expect(sandboxer(['status', id, '--json'], env).json.state).toBe('destroyed');
  });
});

describe('ext.compose-ssh on rootless Podman (the test user)', () => {
  test('create → HTTP → destroy leaves nothing in the user’s own Podman', async () => {
    const user = testbed.user;
    const rootless: RuntimeTarget = {
      ...rootful,
      user,
      base: testbed.sandboxBase,
      engine: engine('podman', user),
    };
    const userEnv = targetEnv(testbed, rootless);
    const created = sandboxer(
      ['create', '-p', 'compose-e2e', '-i', `repo=${join(fixtures, 'compose-http')}`, '--json'],
      userEnv,
    );
    expect(created.code, created.stderr).toBe(0);
    const endpoint = created.json.reachability.endpoints['web:8080'];
    expect((await (await fetch(`http://${endpoint}/`)).text()).trim()).toBe('hello from sand-boxer');
    expect(sandboxer(['destroy', created.json.id], userEnv).code).toBe(0);
    expect(engineLeftovers(rootless.engine, [])).toEqual([]);
    // A profile whose snapshots pause services: rootless Podman on this cgroup v1 host cannot pause,
    // so the create is refused before anything is made, saying what to change.
    const cgroup2 = spawnSync('stat', ['-fc', '%T', '/sys/fs/cgroup'], { encoding: 'utf8' }).stdout.trim();
    if (cgroup2 !== 'cgroup2fs') {
      const refused = sandboxer(
        ['create', '-p', 'compose-checkpoint', '-i', `repo=${join(fixtures, 'compose-http')}`, '--json'],
        userEnv,
      );
      expect(refused.code).toBe(4); // provision failed, at its first look at the host
      expect(refused.stderr).toContain('snapshots with consistency: pause, which rootless Podman');
      expect(refused.stderr).toContain('nothing was created');
      expect(refused.stderr).toContain('consistency: stop');
      expect(engineLeftovers(rootless.engine, [])).toEqual([]);
    }
    // Nothing of it in the testbed's Docker either (the user's other runtime).
    expect(
      spawnSync('docker', ['ps', '-aq', '--filter', `label=dev.sandboxer.sandbox-id=${created.json.id}`], {
        encoding: 'utf8',
      }).stdout,
    ).toBe('');
  });
});
