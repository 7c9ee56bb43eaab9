import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeEach, describe, expect, onTestFinished, test } from 'vitest';
import { loadCatalog } from '../../src/catalog/catalog.js';
import { StateConflictError } from '../../src/errors.js';
import { switchDirOf } from '../../src/extensions/builtin/remote-workspace/expiry-switch.js';
import {
  findSandboxesCommand,
  parseFindings,
} from '../../src/extensions/builtin/remote-workspace/host-scan.js';
import { MARKER_FILE } from '../../src/extensions/builtin/remote-workspace/workspace.js';
import type { GcFinding } from '../../src/gc/types.js';
import { lockKey } from '../../src/lifecycle/keys.js';
import { SandboxManager } from '../../src/manager/manager.js';
import type { SandboxRecord } from '../../src/records/sandbox.js';
import { FileStateStore } from '../../src/state/file-store.js';
import { sh } from '../extensions/switch-support.js';
import { memoryDeclarations, tempDir } from '../support/fixtures.js';
import { MemoryExtension } from '../support/memory-extension.js';
import { resetScanHooks, scanDeclarations, scanHooks } from './scan-extension.js';

/**
 * gc through SandboxManager.gc, against a FileStateStore in a temporary directory and a clock the
 * test moves: the in-memory extension for records, and a stand-in SSH extension (scan-extension.ts)
 * for what hosts hold.
 */

const T0 = new Date('2026-01-01T00:00:00.000Z');
const minutes = (n: number) => new Date(T0.getTime() + n * 60_000);

async function setup(hosts: string[] = []) {
  const home = tempDir();
  const catalog = await loadCatalog({ builtins: [...memoryDeclarations, ...scanDeclarations], userDirs: [] });
  const store = new FileStateStore(home);
  const clock = { now: T0 };
  const manager = new SandboxManager({
    catalog,
    store,
    home,
    initialCredits: 1000,
    now: () => clock.now,
    // Any name but `local` is a host the stand-in SSH extension can reach.
    inputs: { baseDir: process.cwd() },
    hosts: {
      resolve: async (name) => (name === undefined || name === 'local' ? undefined : { name }),
      aliases: async () => hosts,
    },
  });
  return { home, store, manager, clock };
}

/** A record as a process that died (or finished) would have left it. */
function record(id: string, fields: Partial<SandboxRecord> = {}): SandboxRecord {
  const host = fields.host ?? 'h1';
  return {
    id,
    state: 'ready',
    profile: 'profile.scan',
    extension: 'ext.scan',
    host,
    consumer: 'ci:a',
    created_at: T0.toISOString(),
    updated_at: T0.toISOString(),
    ready_at: T0.toISOString(),
    expires_at: minutes(10).toISOString(),
    ttl_seconds: 600,
    target: { name: host },
    handle: { sandbox_id: id, host, target: { name: host } },
    ...fields,
  };
}

/** A record of the in-memory extension whose resource still exists. */
function memoryRecord(id: string, fields: Partial<SandboxRecord> = {}): SandboxRecord {
  MemoryExtension.resources.set(id, { name: id });
  return record(id, {
    profile: 'profile.memory',
    extension: 'ext.memory',
    host: 'local',
    target: undefined,
    handle: { sandbox_id: id, host: 'local' },
    ...fields,
  });
}

const finding = (fields: Partial<GcFinding>) => expect.objectContaining(fields);

beforeEach(() => {
  MemoryExtension.resources.clear();
  resetScanHooks();
});

describe('gc of the state store', () => {
  test('a sandbox stuck provisioning or destroying, with no process holding it, is torn down', async () => {
    const { manager, store } = await setup();
    await store.putSandbox(
      memoryRecord('stuckprov001', { state: 'provisioning', owner_pid: 999_999, ready_at: undefined }),
    );
    await store.putSandbox(memoryRecord('stuckdest001', { state: 'destroying', owner_pid: 999_999 }));
    const progress: string[] = [];
    const findings = await manager.gc({ scanHosts: false, progress: (m) => progress.push(m) });
    expect(findings).toEqual([
      {
        sandbox: 'stuckdest001',
        where: 'store',
        found: 'destroying',
        reason: 'stuck destroying (a teardown failed or was cut short)',
        action: 'destroy',
        result: 'done',
      },
      {
        sandbox: 'stuckprov001',
        where: 'store',
        found: 'provisioning',
        reason: 'stuck provisioning (its creator is gone)',
        action: 'destroy',
        result: 'done',
      },
    ]);
    expect((await manager.get('stuckprov001')).state).toBe('destroyed');
    expect((await manager.get('stuckdest001')).state).toBe('destroyed');
    expect(MemoryExtension.resources.size).toBe(0);
    // Never ready, so never billed.
    expect((await manager.get('stuckprov001')).cost).toBeUndefined();
    expect(progress).toContain(
      'gc: sandbox stuckprov001 (provisioning): stuck provisioning (its creator is gone)',
    );
  });

  test('a sandbox whose lock another process holds is kept, and collected once it is free', async () => {
    const { manager, store, home } = await setup();
    await store.putSandbox(memoryRecord('busybusy0001', { state: 'provisioning', ready_at: undefined }));
    // Another process (its own store over the same directory) is creating it right now.
    let release = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const locked = new Promise<void>((resolve) => {
      void new FileStateStore(home).withLock(lockKey('busybusy0001'), async () => {
        resolve();
        await held;
      });
    });
    await locked;
    const findings = await manager.gc({ scanHosts: false });
    expect(findings).toEqual([
      {
        sandbox: 'busybusy0001',
        where: 'store',
        found: 'provisioning',
        reason: 'stuck provisioning (its creator is gone)',
        action: 'keep',
        result: 'kept',
        detail: 'another process is working on it',
      },
    ]);
    expect((await manager.get('busybusy0001')).state).toBe('provisioning');
    expect(MemoryExtension.resources.has('busybusy0001')).toBe(true);

    release();
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(await manager.gc({ scanHosts: false })).toEqual([finding({ action: 'destroy', result: 'done' })]);
    expect((await manager.get('busybusy0001')).state).toBe('destroyed');
  });

  // gc decides from the record it listed, then waits (up to 1.5 s) for the sandbox's lock: a create
  // that finishes meanwhile leaves a `ready`, unexpired sandbox. The decision is made again on the
  // record as read under the lock, so that one is kept. The holder is another process (its own
  // store over the same directory) or an operation of this one (the store's in-process queue).
  test.each([
    ['another process', 'other'],
    ['this process', 'same'],
  ] as const)(
    'a sandbox that becomes ready while gc waits for its lock (held by %s) is kept',
    async (_who, holder) => {
      const { manager, store, home, clock } = await setup();
      const creating = memoryRecord('racerace0001', {
        state: 'provisioning',
        ready_at: undefined,
        expires_at: minutes(60).toISOString(),
      });
      await store.putSandbox(creating);
      const other = holder === 'other' ? new FileStateStore(home) : store;
      let holding: Promise<void> = Promise.resolve();
      const locked = new Promise<void>((resolve) => {
        holding = other.withLock(lockKey('racerace0001'), async () => {
          resolve();
          await new Promise((r) => setTimeout(r, 300));
          await other.putSandbox({ ...creating, state: 'ready', ready_at: clock.now.toISOString() });
        });
      });
      await locked;
      const progress: string[] = [];
      const findings = await manager.gc({ scanHosts: false, progress: (m) => progress.push(m) });
      await holding;
      expect(findings).toEqual([
        {
          sandbox: 'racerace0001',
          where: 'store',
          found: 'provisioning',
          reason: 'stuck provisioning (its creator is gone)',
          action: 'keep',
          result: 'kept',
          detail: 'it changed meanwhile (e.g. became ready); nothing to do',
        },
      ]);
      const after = await manager.get('racerace0001');
      expect(after).toMatchObject({ state: 'ready', ready_at: clock.now.toISOString() });
      expect(after.owner_pid).toBeUndefined();
      expect(MemoryExtension.resources.has('racerace0001')).toBe(true);
      expect(progress.filter((m) => m.includes('tearing down'))).toEqual([]);
      // Nothing left for a second gc either.
      expect(await manager.gc({ scanHosts: false })).toEqual([]);
    },
  );

  test('a sandbox an operation of this process holds for longer than 1.5 s is kept, not waited for', async () => {
    const { manager, store } = await setup();
    await store.putSandbox(memoryRecord('busybusy0002', { state: 'provisioning', ready_at: undefined }));
    let release = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    let holding: Promise<void> = Promise.resolve();
    const locked = new Promise<void>((resolve) => {
      holding = store.withLock(lockKey('busybusy0002'), async () => {
        resolve();
        await held;
      });
    });
    await locked;
    const started = Date.now();
    const findings = await manager.gc({ scanHosts: false });
    const waited = Date.now() - started;
    expect(findings).toEqual([
      {
        sandbox: 'busybusy0002',
        where: 'store',
        found: 'provisioning',
        reason: 'stuck provisioning (its creator is gone)',
        action: 'keep',
        result: 'kept',
        detail: 'another process is working on it',
      },
    ]);
    // It gave up after its 1.5 s, while the holder still held on.
    expect(waited).toBeGreaterThanOrEqual(1400);
    expect(waited).toBeLessThan(5000);
    expect((await manager.get('busybusy0002')).state).toBe('provisioning');
    expect(MemoryExtension.resources.has('busybusy0002')).toBe(true);

    release();
    await holding;
    expect(await manager.gc({ scanHosts: false })).toEqual([finding({ action: 'destroy', result: 'done' })]);
    expect((await manager.get('busybusy0002')).state).toBe('destroyed');
  });

  test.each([
    ['at its expiry', 10, 10],
    ['5 minutes after it (within the grace)', 15, 10],
    ['5 hours after it', 300, 10],
  ])(
    'an expired ready sandbox is destroyed %s and billed at most what its hold reserved (its TTL)',
    async (_when, gcAt, credits) => {
      const { manager, clock } = await setup();
      const expired = await manager.create({ profile: 'memory', inputs: { name: 'a' }, account: 'acct' });
      expect(expired.estimate?.credits).toBe(10);
      clock.now = minutes(gcAt);
      const fresh = await manager.create({ profile: 'memory', inputs: { name: 'b' }, account: 'other' });
      const findings = await manager.gc({ scanHosts: false });
      expect(findings).toEqual([
        {
          sandbox: expired.id,
          where: 'store',
          found: 'ready',
          reason: `expired at ${minutes(10).toISOString()}`,
          action: 'destroy',
          result: 'done',
        },
      ]);
      const destroyed = await manager.get(expired.id);
      expect(destroyed).toMatchObject({ state: 'destroyed', cost: { credits } });
      expect(await manager.ledger.balance('acct')).toMatchObject({ balance: 1000 - credits, held: 0 });
      // The unexpired one and its hold are untouched.
      expect((await manager.get(fresh.id)).state).toBe('ready');
      expect(await manager.ledger.balance('other')).toMatchObject({ held: 10 });
    },
  );

  test('a failed sandbox whose rollback left things is retried; a clean failed one is left alone', async () => {
    const { manager, store } = await setup();
    const leftovers = { removed: [], leftovers: ['memory://x'], already_gone: false };
    await store.putSandbox(
      memoryRecord('failedleft01', { state: 'failed', cleanup: leftovers, ready_at: undefined }),
    );
    await store.putSandbox(
      memoryRecord('failedclean1', {
        state: 'failed',
        cleanup: { removed: [], leftovers: [], already_gone: true },
        ready_at: undefined,
      }),
    );
    // A retry that fails again is reported, and the others still run.
    await store.putSandbox(
      memoryRecord('failedagain1', {
        state: 'failed',
        cleanup: leftovers,
        ready_at: undefined,
        handle: { sandbox_id: 'failedagain1', host: 'local', fail_at: 'teardown' },
      }),
    );
    const findings = await manager.gc({ scanHosts: false });
    expect(findings).toEqual([
      finding({
        sandbox: 'failedagain1',
        reason: 'its rollback left things behind',
        action: 'destroy',
        result: 'failed',
        detail: expect.stringContaining('teardown failed: injected teardown failure'),
      }),
      {
        sandbox: 'failedleft01',
        where: 'store',
        found: 'failed',
        reason: 'its rollback left things behind',
        action: 'destroy',
        result: 'done',
      },
    ]);
    expect((await manager.get('failedleft01')).state).toBe('destroyed');
    expect(MemoryExtension.resources.has('failedleft01')).toBe(false);
    expect((await manager.get('failedclean1')).state).toBe('failed');
    expect(MemoryExtension.resources.has('failedclean1')).toBe(true);
    // It stays destroying, and the next gc takes it up as such.
    expect((await manager.get('failedagain1')).state).toBe('destroying');
    expect(await manager.gc({ scanHosts: false })).toEqual([
      finding({ sandbox: 'failedagain1', reason: 'stuck destroying (a teardown failed or was cut short)' }),
    ]);
  });

  test("holds nobody will release are released; a live sandbox's own hold is kept", async () => {
    const { manager, store } = await setup();
    const future = minutes(60);
    const orphan = await manager.ledger.hold('acct', 50, 'missing00001', future, () => 'refused');
    const stale = await manager.ledger.hold('acct', 30, 'destroyed001', future, () => 'refused');
    await store.putSandbox(record('destroyed001', { state: 'destroyed', hold: stale.id, account: 'acct' }));
    const live = await manager.create({ profile: 'memory', inputs: { name: 'a' }, account: 'live' });
    expect(await manager.ledger.balance('acct')).toMatchObject({ held: 80, available: 920 });

    const findings = await manager.gc({ scanHosts: false });
    expect(findings).toEqual([
      {
        sandbox: 'missing00001',
        where: 'ledger',
        found: `hold of 50 credits on "acct"`,
        reason: 'no sandbox record holds it',
        action: 'release hold',
        result: 'done',
      },
      {
        sandbox: 'destroyed001',
        where: 'ledger',
        found: `hold of 30 credits on "acct"`,
        reason: 'its sandbox is destroyed',
        action: 'release hold',
        result: 'done',
      },
    ]);
    expect(await manager.ledger.balance('acct')).toMatchObject({ balance: 1000, held: 0, available: 1000 });
    expect(await manager.ledger.balance('live')).toMatchObject({ held: 10 });
    expect((await manager.ledger.unreleasedHolds()).map((h) => h.id)).toEqual([live.hold]);
    expect(orphan.id).not.toBe(live.hold);
    // Released once: a second gc has nothing to do.
    expect(await manager.gc({ scanHosts: false })).toEqual([]);
  });

  test('--dry-run reports what it would do and changes nothing', async () => {
    const { manager, store, home, clock } = await setup(['h1']);
    await store.putSandbox(memoryRecord('stuckprov001', { state: 'provisioning', ready_at: undefined }));
    await store.putSandbox(memoryRecord('expiredmem01'));
    await store.putSandbox(
      memoryRecord('failedleft01', {
        state: 'failed',
        cleanup: { removed: [], leftovers: ['x'], already_gone: false },
      }),
    );
    await store.putSandbox(record('destroyed001', { state: 'destroyed' }));
    await manager.ledger.hold('acct', 50, 'missing00001', minutes(60), () => 'refused');
    scanHooks().find = async () => [
      { sandbox_id: 'destroyed001', resources: ['directory /srv/sbx-destroyed001'] },
      { sandbox_id: 'unknownexp01', resources: ['expiry switch'], expires_at: minutes(5).toISOString() },
      { sandbox_id: 'unknownkeep1', resources: ['expiry switch'], expires_at: minutes(90).toISOString() },
    ];
    clock.now = minutes(30);
    const snapshot = async () => ({
      records: await store.listSandboxes(),
      ledger: readFileSync(join(home, 'ledger.jsonl'), 'utf8'),
      resources: [...MemoryExtension.resources.keys()].sort(),
    });
    const before = await snapshot();
    const findings = await manager.gc({ dryRun: true });
    expect(findings.map((f) => [f.sandbox, f.action, f.result])).toEqual([
      ['expiredmem01', 'destroy', 'dry run'],
      ['failedleft01', 'destroy', 'dry run'],
      ['stuckprov001', 'destroy', 'dry run'],
      ['missing00001', 'release hold', 'dry run'],
      ['destroyed001', 'destroy', 'dry run'],
      ['unknownexp01', 'destroy', 'dry run'],
      ['unknownkeep1', 'keep', 'kept'],
    ]);
    expect(await snapshot()).toEqual(before);
    expect(scanHooks().teardowns).toEqual([]);
  });

  test('--consumer: only that consumer’s records and holds are collected', async () => {
    const { manager, store } = await setup();
    await store.putSandbox(
      memoryRecord('consumera001', { state: 'provisioning', consumer: 'ci:a', ready_at: undefined }),
    );
    await store.putSandbox(
      memoryRecord('consumerb001', { state: 'provisioning', consumer: 'ci:b', ready_at: undefined }),
    );
    const holdA = await manager.ledger.hold('a', 5, 'consumera002', minutes(60), () => 'refused');
    const holdB = await manager.ledger.hold('b', 5, 'consumerb002', minutes(60), () => 'refused');
    await store.putSandbox(record('consumera002', { state: 'destroyed', consumer: 'ci:a', hold: holdA.id }));
    await store.putSandbox(record('consumerb002', { state: 'destroyed', consumer: 'ci:b', hold: holdB.id }));
    // A hold with no record is nobody's in particular: only an unscoped gc releases it.
    const orphan = await manager.ledger.hold('c', 5, 'missing00001', minutes(60), () => 'refused');

    const findings = await manager.gc({ consumer: 'ci:a', scanHosts: false });
    expect(findings.map((f) => [f.sandbox, f.action, f.result])).toEqual([
      ['consumera001', 'destroy', 'done'],
      ['consumera002', 'release hold', 'done'],
    ]);
    expect((await manager.get('consumerb001')).state).toBe('provisioning');
    expect(MemoryExtension.resources.has('consumerb001')).toBe(true);
    expect((await manager.ledger.unreleasedHolds()).map((h) => h.id)).toEqual([holdB.id, orphan.id]);

    expect((await manager.gc({ scanHosts: false })).map((f) => f.sandbox)).toEqual([
      'consumerb001',
      'consumerb002',
      'missing00001',
    ]);
  });
});

describe('gc on hosts', () => {
  /** One of each: live, destroyed and failed in the store, and unknown ones expired, not, or unsure. */
  async function hostsScenario(hosts = ['h1', 'h2', 'h3']) {
    const s = await setup(hosts);
    await s.store.putSandbox(record('livelivelive', { expires_at: minutes(60).toISOString() }));
    await s.store.putSandbox(record('destroyed001', { state: 'destroyed' }));
    await s.store.putSandbox(
      record('failedclean1', {
        state: 'failed',
        cleanup: { removed: [], leftovers: [], already_gone: false },
      }),
    );
    s.clock.now = minutes(30);
    const dir = (id: string) => `directory /srv/sandboxer/sbx-${id}`;
    scanHooks().find = async (host) => {
      if (host.name === 'h2') throw new Error('ssh: connect to host h2 port 22: Connection refused');
      if (host.name === 'h3') return [{ sandbox_id: 'failedclean1', resources: [dir('failedclean1')] }];
      return [
        { sandbox_id: 'livelivelive', resources: [dir('livelivelive'), 'expiry switch'] },
        { sandbox_id: 'destroyed001', resources: ['container 0123456789ab'] },
        {
          sandbox_id: 'unknownexp01',
          resources: [dir('unknownexp01')],
          expires_at: minutes(29).toISOString(),
        },
        { sandbox_id: 'unknownkeep1', resources: ['expiry switch'], expires_at: minutes(90).toISOString() },
        { sandbox_id: 'unknownnoexp', resources: [dir('unknownnoexp')] },
      ];
    };
    return s;
  }

  test('decides from the store and the host, tears down with the host it was found on, and a failed scan does not stop the others', async () => {
    const { manager } = await hostsScenario();
    const progress: string[] = [];
    const findings = await manager.gc({ progress: (m) => progress.push(m) });
    expect(findings).toEqual([
      {
        sandbox: 'livelivelive',
        where: 'h1',
        found: 'directory /srv/sandboxer/sbx-livelivelive, expiry switch',
        reason: 'live in this store (ready)',
        action: 'keep',
        result: 'kept',
      },
      {
        sandbox: 'destroyed001',
        where: 'h1',
        found: 'container 0123456789ab',
        reason: 'left over: the store has it destroyed',
        action: 'destroy',
        result: 'done',
      },
      {
        sandbox: 'unknownexp01',
        where: 'h1',
        found: 'directory /srv/sandboxer/sbx-unknownexp01',
        reason: `unknown to this store, expired at ${minutes(29).toISOString()}`,
        action: 'destroy',
        result: 'done',
      },
      {
        sandbox: 'unknownkeep1',
        where: 'h1',
        found: 'expiry switch',
        reason: `unknown to this store, expires ${minutes(90).toISOString()} (another machine's?)`,
        action: 'keep',
        result: 'kept',
      },
      {
        sandbox: 'unknownnoexp',
        where: 'h1',
        found: 'directory /srv/sandboxer/sbx-unknownnoexp',
        reason: "unknown to this store, expiry unknown (another machine's?)",
        action: 'keep',
        result: 'kept',
      },
      {
        sandbox: '-',
        where: 'h2',
        found: 'ext.scan',
        reason: 'scan failed',
        action: 'keep',
        result: 'failed',
        detail: 'ssh: connect to host h2 port 22: Connection refused',
      },
      {
        sandbox: 'failedclean1',
        where: 'h3',
        found: 'directory /srv/sandboxer/sbx-failedclean1',
        reason: 'left over: the store has it failed',
        action: 'destroy',
        result: 'done',
      },
    ]);
    expect(scanHooks().teardowns).toEqual([
      { sandbox_id: 'destroyed001', host: 'h1', target: { name: 'h1' } },
      { sandbox_id: 'unknownexp01', host: 'h1', target: { name: 'h1' } },
      { sandbox_id: 'failedclean1', host: 'h3', target: { name: 'h3' } },
    ]);
    expect(progress).toContain('gc: looking for ext.scan sandboxes on h3');
    // The scan never touches records: the live one is the store's business.
    expect((await manager.get('livelivelive')).state).toBe('ready');
  });

  test('--unknown also removes unknown sandboxes that have not expired (or whose expiry is unknown)', async () => {
    const { manager } = await hostsScenario(['h1']);
    const findings = await manager.gc({ unknown: true });
    expect(findings.filter((f) => f.action === 'destroy').map((f) => [f.sandbox, f.reason])).toEqual([
      ['destroyed001', 'left over: the store has it destroyed'],
      ['unknownexp01', `unknown to this store, expired at ${minutes(29).toISOString()}`],
      ['unknownkeep1', 'unknown to this store (asked to remove unknown ones)'],
      ['unknownnoexp', 'unknown to this store (asked to remove unknown ones)'],
    ]);
    expect(findings.filter((f) => f.action === 'keep').map((f) => f.sandbox)).toEqual(['livelivelive']);
  });

  test('--consumer keeps unknown unexpired ones even with --unknown, but still removes expired ones', async () => {
    const { manager } = await hostsScenario(['h1']);
    const findings = await manager.gc({ consumer: 'ci:z', unknown: true });
    const decided = Object.fromEntries(findings.map((f) => [f.sandbox, `${f.action}: ${f.reason}`]));
    expect(decided).toMatchObject({
      unknownexp01: `destroy: unknown to this store, expired at ${minutes(29).toISOString()}`,
      unknownkeep1: "keep: not this consumer's",
      unknownnoexp: "keep: not this consumer's",
    });
  });

  test('a teardown that leaves something or throws is a failed finding; the rest go on', async () => {
    const { manager } = await hostsScenario(['h1', 'h3']);
    scanHooks().leftovers.add('destroyed001');
    scanHooks().throws.add('unknownexp01');
    const findings = await manager.gc();
    expect(findings.filter((f) => f.action === 'destroy')).toEqual([
      finding({ sandbox: 'destroyed001', result: 'failed', detail: 'container of destroyed001' }),
      finding({ sandbox: 'unknownexp01', result: 'failed', detail: 'cannot reach h1' }),
      finding({ sandbox: 'failedclean1', result: 'done' }),
    ]);
  });

  test('--host picks the hosts, --no-hosts skips the scan, and a host the extension does not serve is skipped', async () => {
    const { manager } = await hostsScenario();
    const scanned: string[] = [];
    const find = scanHooks().find;
    scanHooks().find = async (host) => {
      scanned.push(host.name);
      return find(host);
    };
    await manager.gc({ hosts: ['h3', 'local'] });
    expect(scanned).toEqual(['h3']);
    scanned.length = 0;
    expect(await manager.gc({ scanHosts: false })).toEqual([]);
    expect(scanned).toEqual([]);
  });

  test("hosts' sync caches unused for longer than the limit: removed, kept while in use, failures said", async () => {
    const { manager } = await setup(['h1']);
    const cache = (key: string, result: 'removed' | 'in-use' | 'failed') => ({
      path: `/srv/sandboxer/.sandboxer-cache/${key}`,
      last_used: '2025-12-01T00:00:00.000Z',
      size_kib: 3072,
      result,
    });
    scanHooks().prune = async () => [cache('a', 'removed'), cache('b', 'in-use'), cache('c', 'failed')];
    const findings = await manager.gc({ cacheMaxAgeSeconds: 7 * 86_400 });
    const common = {
      sandbox: '-',
      where: 'h1',
      reason: 'unused since 2025-12-01T00:00:00.000Z (over 7d)',
    };
    expect(findings).toEqual([
      {
        ...common,
        found: 'sync cache /srv/sandboxer/.sandboxer-cache/a (3.0 MB)',
        action: 'destroy',
        result: 'done',
      },
      {
        ...common,
        found: 'sync cache /srv/sandboxer/.sandboxer-cache/b (3.0 MB)',
        action: 'keep',
        result: 'kept',
        detail: 'a create is using it',
      },
      {
        ...common,
        found: 'sync cache /srv/sandboxer/.sandboxer-cache/c (3.0 MB)',
        action: 'destroy',
        result: 'failed',
        detail: 'could not remove it all (files of another user?)',
      },
    ]);
    // Default 14 days; a dry run only asks; one consumer's gc leaves shared caches alone.
    await manager.gc();
    await manager.gc({ dryRun: true });
    await manager.gc({ consumer: 'ci:z' });
    expect(scanHooks().pruned).toEqual([
      { host: 'h1', olderThanMinutes: 7 * 24 * 60, dryRun: false },
      { host: 'h1', olderThanMinutes: 14 * 24 * 60, dryRun: false },
      { host: 'h1', olderThanMinutes: 14 * 24 * 60, dryRun: true },
    ]);

    scanHooks().prune = async () => {
      throw new Error('flock: command not found');
    };
    expect(await manager.gc()).toEqual([
      {
        sandbox: '-',
        where: 'h1',
        found: 'ext.scan sync caches',
        reason: 'prune failed',
        action: 'keep',
        result: 'failed',
        detail: 'flock: command not found',
      },
    ]);
  });

  test('over a real host directory: the scan command run in sh, its findings decided against the store', async () => {
    const { manager, store, clock } = await setup(['h1']);
    const root = tempDir('sbx-gc-host-');
    onTestFinished(() => rmSync(root, { recursive: true, force: true }));
    const base = join(root, "sand boxer's");
    const marker = (id: string, at: Date) =>
      JSON.stringify({ sandbox_id: id, 'dev.sandboxer.expires-at': at.toISOString() });
    for (const [id, at] of [
      ['expiredhost1', minutes(20)],
      ['freshhost001', minutes(120)],
      ['livelivelive', minutes(60)],
    ] as const) {
      mkdirSync(join(base, `sbx-${id}`), { recursive: true });
      writeFileSync(join(base, `sbx-${id}`, MARKER_FILE), marker(id, at));
    }
    // The switch says the fresh one expires earlier than its marker does: the switch wins.
    mkdirSync(switchDirOf(base));
    writeFileSync(join(switchDirOf(base), 'freshhost001.expires'), `${minutes(25).getTime() / 1000}\n`);
    await store.putSandbox(record('livelivelive', { expires_at: minutes(60).toISOString() }));
    scanHooks().find = async () => parseFindings(sh(findSandboxesCommand(base, undefined)).stdout, base);

    clock.now = minutes(22);
    expect((await manager.gc()).map((f) => [f.sandbox, f.action, f.result])).toEqual([
      ['expiredhost1', 'destroy', 'done'],
      ['freshhost001', 'keep', 'kept'],
      ['livelivelive', 'keep', 'kept'],
    ]);
    clock.now = minutes(26);
    expect((await manager.gc({ dryRun: true })).map((f) => [f.sandbox, f.action])).toEqual([
      ['expiredhost1', 'destroy'],
      ['freshhost001', 'destroy'],
      ['livelivelive', 'keep'],
    ]);
  });
});

describe('extend and the host-side switch', () => {
  test("moves the host's expiry first, with the sandbox's handle and the new expiry", async () => {
    const { manager, store, clock } = await setup();
    await store.putSandbox(record('extendme0001'));
    clock.now = minutes(5);
    const extended = await manager.extend('extendme0001', '20m');
    expect(extended).toMatchObject({ expires_at: minutes(25).toISOString(), ttl_seconds: 25 * 60 });
    expect(scanHooks().rescheduled).toEqual([
      { handle: { sandbox_id: 'extendme0001', host: 'h1', target: { name: 'h1' } }, expiresAt: minutes(25) },
    ]);
    expect((await manager.get('extendme0001')).expires_at).toBe(minutes(25).toISOString());
  });

  test('without a handle, the minimal one (id, host, target) is used', async () => {
    const { manager, store, clock } = await setup();
    await store.putSandbox(record('extendme0002', { state: 'provisioning', handle: undefined }));
    clock.now = minutes(5);
    await manager.extend('extendme0002', '20m');
    expect(scanHooks().rescheduled.map((r) => r.handle)).toEqual([
      { sandbox_id: 'extendme0002', host: 'h1', target: { name: 'h1' } },
    ]);
  });

  test('refuses with a state conflict, changing nothing, when the switch has already fired', async () => {
    const { manager, store, clock } = await setup();
    const before = record('extendme0003');
    await store.putSandbox(before);
    scanHooks().reschedule = async () => false;
    clock.now = minutes(5);
    const error = await manager.extend('extendme0003', '20m').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StateConflictError);
    expect((error as Error).message).toBe(
      'sandbox extendme0003 already expired on h1 (its host-side switch tore it down); gc settles its record',
    );
    expect(await manager.get('extendme0003')).toEqual(before);
  });
});
