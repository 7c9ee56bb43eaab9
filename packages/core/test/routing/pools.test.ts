import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { builtinDeclarations } from '../../src/catalog/builtin-declarations.generated.js';
import { loadCatalog } from '../../src/catalog/catalog.js';
import { ConfigError, SshError } from '../../src/errors.js';
import { hostsFromFile } from '../../src/hosts/directory.js';
import { loadHostsFile, resolvePool } from '../../src/hosts/resolve.js';
import { markUnhealthy, setDrained } from '../../src/hosts/status.js';
import { SandboxManager } from '../../src/manager/manager.js';
import type { SandboxRecord } from '../../src/records/sandbox.js';
import { hostLevelFailure } from '../../src/routing/host-failures.js';
import { hostRefusal, placementOrder } from '../../src/routing/pools.js';
import { FileStateStore } from '../../src/state/file-store.js';
import { sampleRepo, sandboxRecord, source, tempDir } from '../support/fixtures.js';

const HOSTS = `default: docker
hosts:
  a: { address: 10.0.0.1, user: ci, capacity: 2, labels: [docker] }
  b: { address: 10.0.0.2, user: ci, capacity: 4, labels: [docker] }
  c: { address: 10.0.0.3, user: ci, capacity: 2, labels: [docker, big] }
  vm: { address: 10.0.0.9, user: ci }
pools:
  docker: { labels: [docker] }
  packed: { hosts: [a, b], placement: pack, cooldown: 5m }
  spread: { hosts: [a, b, c], placement: spread }
`;

async function hostsFile(text = HOSTS) {
  const dir = tempDir('sbx-pools-');
  const path = join(dir, 'hosts.yaml');
  writeFileSync(path, text);
  return { dir, path, file: await loadHostsFile(path, dir) };
}

const live = (...hosts: string[]): SandboxRecord[] => hosts.map((host) => sandboxRecord({ host }));

describe('pools in the hosts file', () => {
  test('members by label or by alias, placement and cool-down with defaults', async () => {
    const { file } = await hostsFile();
    const docker = resolvePool('docker', file);
    expect(docker).toMatchObject({ name: 'docker', placement: 'least-loaded', cooldownSeconds: 60 });
    expect(docker?.members.map((m) => [m.name, m.pool])).toEqual([
      ['a', 'docker'],
      ['b', 'docker'],
      ['c', 'docker'],
    ]);
    expect(resolvePool('packed', file)).toMatchObject({ placement: 'pack', cooldownSeconds: 300 });
    expect(resolvePool(undefined, file)?.name).toBe('docker');
    expect(resolvePool('vm', file)).toBeUndefined();
  });

  test.each([
    [
      'a pool naming an unknown host',
      'hosts:\n  a: { address: x, user: u }\npools:\n  p: { hosts: [a, zz] }\n',
      /pools\.p\.hosts: "zz" not among the hosts/,
    ],
    [
      'a pool with the alias of a host',
      'hosts:\n  a: { address: x, user: u }\npools:\n  a: { hosts: [a] }\n',
      /pools\.a: a host has that alias already/,
    ],
    [
      'a label no host has',
      'hosts:\n  a: { address: x, user: u }\npools:\n  p: { labels: [gpu] }\n',
      /pools\.p\.labels: no host has any of gpu/,
    ],
    [
      'both hosts and labels',
      'hosts:\n  a: { address: x, user: u }\npools:\n  p: { hosts: [a], labels: [x] }\n',
      /exactly one of hosts \(aliases\) and labels/,
    ],
    [
      'an unknown placement',
      'hosts:\n  a: { address: x, user: u }\npools:\n  p: { hosts: [a], placement: random }\n',
      /placement/,
    ],
  ])('%s is refused, naming the field', async (_what, text, message) => {
    await expect(hostsFile(text)).rejects.toThrow(ConfigError);
    await expect(hostsFile(text)).rejects.toThrow(message);
  });
});

describe('placement', () => {
  test('least-loaded: the lowest share of capacity in use first; ties in file order', async () => {
    const pool = resolvePool('docker', (await hostsFile()).file);
    if (!pool) throw new Error('no pool');
    expect(placementOrder(pool, []).map((h) => h.name)).toEqual(['a', 'b', 'c']);
    expect(placementOrder(pool, live('a', 'b')).map((h) => h.name)).toEqual(['c', 'b', 'a']);
  });

  test('spread: the fewest live sandboxes; pack: the fullest with room first', async () => {
    const { file } = await hostsFile();
    const spread = resolvePool('spread', file);
    const packed = resolvePool('packed', file);
    if (!spread || !packed) throw new Error('no pools');
    expect(placementOrder(spread, live('a', 'b', 'b')).map((h) => h.name)).toEqual(['c', 'a', 'b']);
    expect(placementOrder(packed, live('a', 'b')).map((h) => h.name)).toEqual(['a', 'b']);
  });

  test('refusals: drained, full, resting (only in a pool), none', async () => {
    const pool = resolvePool('docker', (await hostsFile()).file);
    const [a] = pool?.members ?? [];
    if (!a) throw new Error('no host');
    const now = new Date('2026-12-07T12:00:00Z');
    const resting = {
      host: 'a',
      drained: false,
      unhealthy_until: '2026-12-07T12:00:30Z',
      last_error: { at: '2026-12-07T11:59:30Z', message: 'connection refused' },
      updated_at: '',
    };
    expect(hostRefusal(a, live('a', 'a'), undefined, now, true)).toBe('host a is full (2/2 live sandboxes)');
    expect(
      hostRefusal(a, [], { host: 'a', drained: true, drained_at: 'x', updated_at: '' }, now, true),
    ).toMatch(/is drained/);
    expect(hostRefusal(a, [], resting, now, true)).toBe(
      'host a is resting after a failure (connection refused); tried again in 30s',
    );
    expect(hostRefusal(a, [], resting, now, false)).toBeUndefined();
    expect(hostRefusal(a, [], resting, new Date('2026-12-07T12:01:00Z'), true)).toBeUndefined();
  });
});

describe('host-level failures (retried on the next host) and the others', () => {
  test.each([
    [new SshError('cannot reach 10.0.0.1:22: connection refused', 'connect'), true],
    [new SshError('ci@10.0.0.1:22 refused the SSH key (permission denied)', 'connect'), true],
    [new SshError('host key of 10.0.0.1:22 does not match known_hosts', 'connect'), false],
    [
      new Error(
        'compose up failed (exit 1): Cannot connect to the Docker daemon at unix:///var/run/docker.sock',
      ),
      true,
    ],
    [new Error('rsync: write failed on "/srv/x": No space left on device (28)'), true],
    [new Error('sh: 1: docker-compose: not found'), true],
    [
      Object.assign(new Error('host a has 10 MiB free'), {
        details: { host_level: 'below its min_free_disk' },
      }),
      true,
    ],
    [new Error('services.web.ports must be a list'), false],
    [new Error('web exited with code 3'), false],
    [new Error('readiness checks failed after 120 s'), false],
  ])('%s → %s', (error, hostLevel) => {
    expect(hostLevelFailure(error) !== undefined).toBe(hostLevel);
  });

  test('a cause chain is followed', () => {
    const cause = new SshError('cannot reach x: timed out', 'connect');
    expect(hostLevelFailure(new Error('provision failed', { cause }))).toBe('cannot reach x: timed out');
  });
});

describe('routing over a pool', () => {
  async function setup() {
    const { dir, path } = await hostsFile();
    const store = new FileStateStore(dir);
    const manager = new SandboxManager({
      catalog: await loadCatalog({ builtins: builtinDeclarations, userDirs: [] }),
      store,
      home: dir,
      inputs: { baseDir: process.cwd() },
      sshKey: 'routing only: nothing logs in',
      hosts: hostsFromFile(path, {}, dir),
    });
    return { store, manager, repo: sampleRepo() };
  }

  test('explain shows every host of the pool with its pool and reasons; drained and resting hosts are passed over', async () => {
    const { store, manager, repo } = await setup();
    for (const host of ['a', 'a', 'b'])
      await store.putSandbox(sandboxRecord({ host, expires_at: '2099-01-01T00:00:00.000Z' }));
    await setDrained(store, 'c', true, new Date());
    const decision = await manager.routeReport({ profile: 'compose-e2e', inputs: { repo }, host: 'docker' });
    // Least-loaded order: c (0/2), b (1/4), a (2/2).
    expect(decision.candidates.map((c) => [c.host, c.pool, c.feasible, c.reasons[0] ?? ''])).toEqual([
      ['c', 'docker', false, expect.stringMatching(/^host c is drained/)],
      ['b', 'docker', true, ''],
      ['a', 'docker', false, 'host a is full (2/2 live sandboxes)'],
    ]);
    expect(decision.chosen?.host).toBe('b');
    await markUnhealthy(store, 'b', 'connection refused', 60, new Date());
    const next = await manager.routeReport({ profile: 'compose-e2e', inputs: { repo } });
    expect(next.chosen).toBeNull();
    expect(next.candidates.find((c) => c.host === 'b')?.reasons[0]).toMatch(
      /resting after a failure \(connection refused\)/,
    );
  });

  test('a confined caller may name a pool like an alias', async () => {
    const { dir, path } = await hostsFile();
    const manager = new SandboxManager({
      catalog: await loadCatalog({ builtins: builtinDeclarations, userDirs: [] }),
      store: new FileStateStore(dir),
      home: dir,
      inputs: { baseDir: tempDir(), confined: true },
      sshKey: 'routing only: nothing logs in',
      hosts: hostsFromFile(path, {}, dir),
    });
    await expect(
      manager.routeReport({ profile: 'saas-stub', inputs: { repo: '.' }, host: 'docker' }),
    ).resolves.toBeDefined();
  });
});

describe('creates over a pool (an in-memory backend that runs "on" hosts)', () => {
  const declarations = [
    source(
      'extension',
      'extensions/ext.memory-host.yaml',
      `id: ext.memory-host
title: In-memory, on hosts
handler: ${join(import.meta.dirname, '..', 'support', 'memory-extension.ts')}:createMemoryHostExtension
capabilities:
  isolation_levels: [directory]
  pricing_model: metered
inputs:
  name: {}
  fail_at: {}
  unreachable_hosts: { description: "hosts that refuse connections, for tests" }
`,
    ),
    source(
      'profile',
      'profiles/profile.pooled.yaml',
      `description: in-memory sandboxes on a pool
extension: ext.memory-host
ttl: 10m
inputs:
  required: [name]
`,
    ),
  ];

  async function pooled() {
    const { dir, path } = await hostsFile();
    const store = new FileStateStore(dir);
    const manager = new SandboxManager({
      catalog: await loadCatalog({ builtins: [...builtinDeclarations, ...declarations], userDirs: [] }),
      store,
      home: dir,
      initialCredits: 10_000,
      inputs: { baseDir: process.cwd() },
      hosts: hostsFromFile(path, {}, dir),
    });
    return { store, manager };
  }

  test('20 at once on a pool of 2 + 4 + 2: exactly 8 made, no host over its capacity', async () => {
    const { manager } = await pooled();
    const results = await Promise.allSettled(
      Array.from({ length: 20 }, (_, i) =>
        manager.create({ profile: 'pooled', inputs: { name: `n${i}` }, host: 'docker' }),
      ),
    );
    const made = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    expect(made).toHaveLength(8);
    const perHost = Object.fromEntries(
      ['a', 'b', 'c'].map((h) => [h, made.filter((r) => r.host === h).length]),
    );
    expect(perHost).toEqual({ a: 2, b: 4, c: 2 });
    for (const refused of results.filter((r) => r.status === 'rejected')) {
      expect((refused as PromiseRejectedResult).reason).toMatchObject({ code: 'NO_BACKEND_AVAILABLE' });
    }
  });

  test('an unreachable host: rolled back there, the next host takes it, the hold is not doubled, the host rests', async () => {
    const { store, manager } = await pooled();
    const progress: string[] = [];
    const record = await manager.create(
      { profile: 'pooled', inputs: { name: 'x', unreachable_hosts: 'a' }, host: 'docker', account: 'acct' },
      { progress: (line) => progress.push(line) },
    );
    expect(record.host).toBe('b');
    expect(record.routing).toEqual([
      {
        extension: 'ext.memory-host',
        host: 'a',
        pool: 'docker',
        reasons: ['failed: cannot reach a:22: connection refused'],
      },
    ]);
    expect(progress).toContain(
      `sandbox ${record.id}: host a failed (cannot reach a:22: connection refused); trying the next host of pool docker`,
    );
    const balance = await manager.credits.balance('acct');
    expect(balance.held).toBe(record.estimate?.credits);
    expect((await store.getHostStatus('a'))?.unhealthy_until).toBeDefined();
    expect(
      (
        await manager.routeReport({ profile: 'pooled', inputs: { name: 'y' }, host: 'docker' })
      ).candidates.find((c) => c.host === 'a')?.reasons[0],
    ).toMatch(/resting/);
  });

  test('every host unreachable: the create fails with every host and why; nothing held, the record failed', async () => {
    const { manager } = await pooled();
    const error = await manager
      .create({
        profile: 'pooled',
        inputs: { name: 'x', unreachable_hosts: 'a,b,c' },
        host: 'docker',
        account: 'acct',
      })
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'NO_BACKEND_AVAILABLE' });
    expect(String((error as Error).message)).toMatch(/on a \(pool docker\): failed during this create/);
    expect((await manager.credits.balance('acct')).held).toBe(0);
    const [record] = await manager.list({ all: true });
    expect(record).toMatchObject({ state: 'failed' });
  });
});
