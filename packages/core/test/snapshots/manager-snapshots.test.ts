import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { builtinDeclarations } from '../../src/catalog/builtin-declarations.generated.js';
import { loadCatalog } from '../../src/catalog/catalog.js';
import {
  InputError,
  NoBackendAvailableError,
  NotFoundError,
  ProvisionError,
  SnapshotCorruptError,
  SnapshotError,
  StateConflictError,
  UnsupportedError,
} from '../../src/errors.js';
import type { RestoreSource, RestoreTarget } from '../../src/extensions/contract.js';
import { SandboxManager } from '../../src/manager/manager.js';
import type { HostTarget } from '../../src/records/host-target.js';
import type { SandboxRecord } from '../../src/records/sandbox.js';
import type { SnapshotRecord } from '../../src/records/snapshot.js';
import { FileStateStore } from '../../src/state/file-store.js';
import { sha256File } from '../../src/util/sha256-file.js';
import { newSnapshotId } from '../../src/util/snapshot-ids.js';
import { memoryDeclarations, sampleRepo, tempDir } from '../support/fixtures.js';
import { MemoryExtension } from '../support/memory-extension.js';
import { probeDeclarations, probeHooks } from './probe-extension.js';

const ACCOUNT = 'acme';

interface SetupOptions {
  resolveHost?: (name: string | undefined) => Promise<HostTarget | undefined>;
}

async function setup(options: SetupOptions = {}) {
  const home = tempDir();
  const catalog = await loadCatalog({
    builtins: [...builtinDeclarations, ...memoryDeclarations, ...probeDeclarations],
    userDirs: [],
  });
  const store = new FileStateStore(home);
  const manager = new SandboxManager({
    catalog,
    store,
    home,
    initialCredits: 1000,
    inputs: { baseDir: process.cwd() },
    // Routes to compose hosts here never log in: key text passes the key check.
    sshKey: 'never used to log in',
    ...(options.resolveHost
      ? { hosts: { resolve: options.resolveHost, aliases: async () => [] }, probe: async () => undefined }
      : {}),
  });
  /** A ready saas-stub sandbox with the sample repo in it. */
  const stub = (profile = 'saas-stub') =>
    manager.create({ profile, inputs: { repo: sampleRepo() }, account: ACCOUNT });
  return { home, store, manager, stub, stubRoot: join(home, 'saas-stub') };
}

/** Every file under `dir` with its content (directories as `/`). */
function tree(dir: string): Record<string, string> {
  const found: Record<string, string> = {};
  const walk = (d: string) => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const path = join(d, entry.name);
      if (entry.isDirectory()) {
        found[`${relative(dir, path)}/`] = '';
        walk(path);
      } else found[relative(dir, path)] = readFileSync(path, 'utf8');
    }
  };
  walk(dir);
  return found;
}

const workspaceOf = (record: SandboxRecord) => record.reachability?.remote_dir as string;

/** Edits a workspace so it differs from what was snapshotted: changed, added and removed files. */
function changeWorkspace(dir: string): void {
  writeFileSync(join(dir, 'README.md'), '# changed after the snapshot\n');
  writeFileSync(join(dir, 'new.txt'), 'new\n');
  rmSync(join(dir, 'src'), { recursive: true });
}

function flipByte(path: string, offset = 600): void {
  const bytes = readFileSync(path);
  bytes[offset] = (bytes[offset] as number) ^ 0xff;
  writeFileSync(path, bytes);
}

/** A ready snapshot record, as another extension would have left it. */
function readyRecord(overrides: Partial<SnapshotRecord>): SnapshotRecord {
  const now = new Date().toISOString();
  return {
    id: newSnapshotId(),
    status: 'ready',
    sandbox_id: 'aaaaaaaaaaaa',
    profile: 'profile.vm-haskell-build',
    extension: 'ext.vm-packer',
    host: 'vm1',
    created_at: now,
    updated_at: now,
    sha256: 'a'.repeat(64),
    size_bytes: 10,
    locations: [{ kind: 'local', path: '/nonexistent/snap.tar' }],
    inputs: {},
    ...overrides,
  };
}

beforeEach(() => {
  MemoryExtension.resources.clear();
  const hooks = probeHooks();
  delete hooks.snapshot;
  delete hooks.restore;
});

describe('snapshots of a saas-stub sandbox through SandboxManager', () => {
  test('snapshot → change → restore as new → restore in place → list/get → delete', async () => {
    const { manager, home, store, stub } = await setup();
    const original = await stub();
    const dir = workspaceOf(original);
    const before = tree(dir);
    expect(before).toHaveProperty(['README.md'], '# sample\n');

    const progress: string[] = [];
    const snapshot = await manager.snapshots.create(original.id, {
      name: 'before',
      progress: (m) => progress.push(m),
    });
    const artifact = join(home, 'snapshots', 'artifacts', `${snapshot.id}.tar`);
    expect(snapshot).toMatchObject({
      name: 'before',
      status: 'ready',
      sandbox_id: original.id,
      profile: 'profile.saas-stub',
      extension: 'ext.saas-stub',
      host: 'local',
      account: ACCOUNT,
      locations: [{ kind: 'local', path: artifact }],
      contents: { workspace: true, volumes: [] },
      consistency: 'none',
      paused_ms: 0,
      size_bytes: statSync(artifact).size,
      sha256: await sha256File(artifact),
    });
    expect(snapshot.id).toMatch(/^snap-[a-z0-9]{12}$/);
    expect(readdirSync(dirname(artifact))).toEqual([`${snapshot.id}.tar`]); // no .partial left
    expect(await store.getSnapshot(snapshot.id)).toEqual(snapshot);
    // The record is one private file under <home>/snapshots/, the artifact under the store's artifactDir.
    expect(statSync(join(home, 'snapshots', `${snapshot.id}.json`)).mode & 0o777).toBe(0o600);
    expect(dirname(artifact)).toBe(store.artifactDir);
    expect(progress.some((m) => m.includes('capturing'))).toBe(true);

    changeWorkspace(dir);
    const changed = tree(dir);

    const restored = await manager.snapshots.restore('before', { account: ACCOUNT });
    expect(restored).toMatchObject({
      state: 'ready',
      profile: 'profile.saas-stub',
      extension: 'ext.saas-stub',
      restored_from: snapshot.id,
    });
    expect(restored.id).not.toBe(original.id);
    expect(workspaceOf(restored)).not.toBe(dir);
    expect(tree(workspaceOf(restored))).toEqual(before);
    expect(tree(dir)).toEqual(changed);
    expect((await manager.get(original.id)).restored_from).toBeUndefined();

    const inPlace = await manager.snapshots.restore(snapshot.id, { mode: 'in-place' });
    expect(inPlace).toMatchObject({ id: original.id, state: 'ready', restored_from: snapshot.id });
    expect(inPlace.error).toBeUndefined();
    expect(tree(dir)).toEqual(before);
    expect(await manager.get(original.id)).toEqual(inPlace);
    expect((await manager.list()).map((r) => r.id).sort()).toEqual([original.id, restored.id].sort());

    expect(await manager.snapshots.list()).toEqual([snapshot]);
    expect(await manager.snapshots.get(snapshot.id)).toEqual(snapshot);
    expect(await manager.snapshots.get('before')).toEqual(snapshot);

    const deleted = await manager.snapshots.delete('before');
    expect(deleted).toMatchObject({ id: snapshot.id, status: 'deleted', locations: [] });
    expect(existsSync(artifact)).toBe(false);
    expect(await manager.snapshots.get('before')).toEqual(deleted);
    expect(await manager.snapshots.get(snapshot.id)).toEqual(deleted);
    expect(await manager.snapshots.list()).toEqual([]);
    expect(await manager.snapshots.list({ all: true })).toEqual([deleted]);
    for (const mode of ['new', 'in-place'] as const) {
      const error = await manager.snapshots.restore('before', { mode }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(StateConflictError);
      expect((error as Error).message).toMatch(
        new RegExp(`^snapshot ${snapshot.id} is deleted \\(deleted at`),
      );
    }
    // Deleting twice is fine and changes nothing.
    expect(await manager.snapshots.delete(snapshot.id)).toEqual(deleted);

    // The name is free again; by name, the live snapshot wins over the deleted one.
    const again = await manager.snapshots.create(original.id, { name: 'before' });
    expect(again.id).not.toBe(snapshot.id);
    expect((await manager.snapshots.get('before')).id).toBe(again.id);
  });

  test('restore in place onto another sandbox of the same extension (--sandbox)', async () => {
    const { manager, stub } = await setup();
    const a = await stub();
    const b = await stub();
    writeFileSync(join(workspaceOf(a), 'only-in-a.txt'), 'a\n');
    const snapshot = await manager.snapshots.create(a.id);
    const restored = await manager.snapshots.restore(snapshot.id, { mode: 'in-place', sandbox: b.id });
    expect(restored).toMatchObject({ id: b.id, restored_from: snapshot.id });
    expect(tree(workspaceOf(b))).toEqual(tree(workspaceOf(a)));
  });

  test('refusals: destroyed sandbox, unknown sandbox or snapshot, duplicate name, wrong mode flags', async () => {
    const { manager, store, stub } = await setup();
    const sandbox = await stub();
    const other = await manager.create({ profile: 'memory', inputs: { name: 'm' } });
    const snapshot = await manager.snapshots.create(sandbox.id, { name: 'taken' });

    const duplicate = await manager.snapshots.create(sandbox.id, { name: 'taken' }).catch((e: unknown) => e);
    expect(duplicate).toBeInstanceOf(StateConflictError);
    expect((duplicate as Error).message).toBe(
      'name: a snapshot named "taken" already exists; pick another or delete it',
    );

    await expect(manager.snapshots.get('snap-aaaaaaaaaaaa')).rejects.toThrow(NotFoundError);
    await expect(manager.snapshots.get('nope')).rejects.toThrow('no snapshot "nope" in');
    await expect(manager.snapshots.restore('snap-aaaaaaaaaaaa')).rejects.toThrow(NotFoundError);
    await expect(manager.snapshots.delete('nope')).rejects.toThrow(NotFoundError);
    await expect(manager.snapshots.create('aaaaaaaaaaaa')).rejects.toThrow(NotFoundError);
    await expect(manager.snapshots.create('../etc')).rejects.toThrow(InputError);

    await expect(manager.snapshots.restore(snapshot.id, { sandbox: sandbox.id })).rejects.toThrow(
      'mode: only an in-place restore restores over a given sandbox',
    );
    await expect(manager.snapshots.restore(snapshot.id, { mode: 'in-place', host: 'local' })).rejects.toThrow(
      InputError,
    );
    await expect(
      manager.snapshots.restore(snapshot.id, { mode: 'in-place', sandbox: other.id }),
    ).rejects.toThrow(
      `snapshot ${snapshot.id} was taken with ext.saas-stub; sandbox ${other.id} runs on ext.memory`,
    );

    await manager.destroy(sandbox.id);
    const destroyed = await manager.snapshots.create(sandbox.id).catch((e: unknown) => e);
    expect(destroyed).toBeInstanceOf(StateConflictError);
    expect((destroyed as Error).message).toBe(
      `sandbox ${sandbox.id} is destroyed: only a ready sandbox can be snapshotted`,
    );
    await expect(manager.snapshots.restore(snapshot.id, { mode: 'in-place' })).rejects.toThrow(
      `sandbox ${sandbox.id} is destroyed: restore in place needs a ready sandbox`,
    );
    // Refusals leave no snapshot records behind; the snapshot outlives its sandbox.
    expect((await store.listSnapshots()).map((s) => s.id)).toEqual([snapshot.id]);
    const restored = await manager.snapshots.restore('taken', { account: ACCOUNT });
    expect(restored.state).toBe('ready');
  });
});

describe('snapshot names', () => {
  // Refused names record nothing and accepted ones are all different, so one manager serves every row.
  let shared: Promise<{ manager: SandboxManager; store: FileStateStore; sandbox: SandboxRecord }>;
  beforeAll(() => {
    shared = setup().then(async ({ manager, store, stub }) => ({ manager, store, sandbox: await stub() }));
  });

  test.each([
    [''],
    ['-leading-dash'],
    ['.hidden'],
    ['_under'],
    ['has space'],
    ['a/b'],
    ['../up'],
    ['x'.repeat(65)],
    ['snap-aaaaaaaaaaaa'],
    ['$(touch pwned)'],
    ['name\n'],
    ['a\nb'],
    ['ünïcode'],
    ['semi;colon'],
  ])('%j is refused with an InputError, before anything is recorded', async (name) => {
    const { manager, store, sandbox } = await shared;
    const before = await store.listSnapshots();
    const error = await manager.snapshots.create(sandbox.id, { name }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InputError);
    expect((error as InputError).details).toEqual({ field: 'name' });
    expect(await store.listSnapshots()).toEqual(before);
  });

  test.each([['a'], ['before-migration'], ['v1.2_rc-3'], ['9lives'], ['x'.repeat(64)], ['snap-short']])(
    '%j is accepted and found by name',
    async (name) => {
      const { manager, sandbox } = await shared;
      const created = await manager.snapshots.create(sandbox.id, { name });
      expect(created.name).toBe(name);
      expect(await manager.snapshots.get(name)).toEqual(created);
    },
  );
});

describe('a corrupt or missing local artifact is refused before anything changes', () => {
  test('restore as new: SnapshotCorruptError, no sandbox record, no workspace, ledger unchanged', async () => {
    const { manager, store, stubRoot, stub } = await setup();
    const sandbox = await stub();
    const snapshot = await manager.snapshots.create(sandbox.id);
    const artifact = (snapshot.locations[0] as { path: string }).path;
    flipByte(artifact);

    const sandboxes = await store.listSandboxes();
    const workspaces = readdirSync(stubRoot);
    const ledger = await store.readLedger();
    const balance = await manager.ledger.balance(ACCOUNT);

    const error = await manager.snapshots.restore(snapshot.id, { account: ACCOUNT }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SnapshotCorruptError);
    expect((error as SnapshotCorruptError).code).toBe('SNAPSHOT_CORRUPT');
    expect((error as Error).message).toMatch(
      new RegExp(
        `^snapshot ${snapshot.id}: local copy .*${snapshot.id}\\.tar is corrupt .*nothing was restored$`,
      ),
    );
    expect(await store.listSandboxes()).toEqual(sandboxes);
    expect(readdirSync(stubRoot)).toEqual(workspaces);
    expect(await store.readLedger()).toEqual(ledger);
    expect(await manager.ledger.balance(ACCOUNT)).toEqual(balance);
    expect((await manager.snapshots.get(snapshot.id)).status).toBe('ready');
  });

  test('restore in place: SnapshotCorruptError, the workspace and its record untouched', async () => {
    const { manager, stub } = await setup();
    const sandbox = await stub();
    const snapshot = await manager.snapshots.create(sandbox.id);
    changeWorkspace(workspaceOf(sandbox));
    const changed = tree(workspaceOf(sandbox));
    flipByte((snapshot.locations[0] as { path: string }).path);
    await expect(manager.snapshots.restore(snapshot.id, { mode: 'in-place' })).rejects.toThrow(
      SnapshotCorruptError,
    );
    expect(tree(workspaceOf(sandbox))).toEqual(changed);
    expect(await manager.get(sandbox.id)).toEqual(sandbox);
  });

  test('a local copy deleted by hand: SnapshotCorruptError naming the missing file', async () => {
    const { manager, store, stub } = await setup();
    const sandbox = await stub();
    const snapshot = await manager.snapshots.create(sandbox.id);
    const artifact = (snapshot.locations[0] as { path: string }).path;
    rmSync(artifact);
    const count = (await store.listSandboxes()).length;
    await expect(manager.snapshots.restore(snapshot.id, { account: ACCOUNT })).rejects.toThrow(
      `snapshot ${snapshot.id}: its local copy ${artifact} is missing; nothing was restored`,
    );
    expect(await store.listSandboxes()).toHaveLength(count);
    expect((await manager.ledger.balance(ACCOUNT)).held).toBe(15); // only the first sandbox's hold
  });
});

describe('extensions without snapshots', () => {
  test('restoring a vm-packer snapshot (capabilities.snapshot false) is UnsupportedError naming it', async () => {
    const { manager, store } = await setup();
    const record = readyRecord({});
    await store.putSnapshot(record);
    for (const mode of ['new', 'in-place'] as const) {
      const error = await manager.snapshots.restore(record.id, { mode }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(UnsupportedError);
      expect((error as UnsupportedError).code).toBe('UNSUPPORTED');
      expect((error as UnsupportedError).details).toEqual({ extension: 'ext.vm-packer' });
      expect((error as Error).message).toBe(
        'ext.vm-packer does not support snapshots (capabilities.snapshot is false in its declaration)',
      );
    }
    expect(await store.listSandboxes()).toEqual([]);
  });

  test('snapshotting a sandbox of such an extension is refused before any record is made', async () => {
    const { manager, store } = await setup();
    const sandbox = await manager.create({ profile: 'memory', inputs: { name: 'm' } });
    await expect(manager.snapshots.create(sandbox.id, { name: 'n' })).rejects.toThrow(
      'ext.memory does not support snapshots (capabilities.snapshot is false in its declaration)',
    );
    const claims = await manager.create({ profile: 'memory-snap', inputs: { name: 'm' } });
    const error = await manager.snapshots.create(claims.id).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnsupportedError);
    expect((error as Error).message).toBe(
      'ext.memory-snap does not support snapshots (capabilities.snapshot is true in its declaration, but its handler has no snapshot/restore)',
    );
    expect(await store.listSnapshots()).toEqual([]);
  });
});

describe('metering', () => {
  test('storage is debited once per snapshot; a restore holds and then debits like any create', async () => {
    const { manager, stub } = await setup();
    const sandbox = await stub();
    const start = await manager.ledger.balance(ACCOUNT);
    expect(start).toMatchObject({ balance: 1000, held: 15 });

    const progress: string[] = [];
    const snapshot = await manager.snapshots.create(sandbox.id, { progress: (m) => progress.push(m) });
    expect(snapshot.cost).toEqual({ credits: 0.01, breakdown: { storage: 0.01 } });
    expect(progress).toContain(`snapshot ${snapshot.id}: debited 0.01 credits for storage from "${ACCOUNT}"`);
    const debits = (await manager.ledger.history(ACCOUNT)).filter((e) => e.kind === 'debit');
    expect(debits).toEqual([
      expect.objectContaining({ sandbox: snapshot.id, credits: 0.01, breakdown: { storage: 0.01 } }),
    ]);
    expect(await manager.ledger.balance(ACCOUNT)).toMatchObject({ balance: 999.99, held: 15 });

    const restored = await manager.snapshots.restore(snapshot.id, { account: ACCOUNT });
    expect(restored.estimate?.credits).toBe(15); // profile.saas-stub: 30 minutes at 0.5 per minute
    expect(restored.hold).toBeDefined();
    expect(await manager.ledger.balance(ACCOUNT)).toMatchObject({ balance: 999.99, held: 30 });

    await manager.destroy(restored.id);
    const mine = (await manager.ledger.history(ACCOUNT)).filter((e) => e.sandbox === restored.id);
    expect(mine.map((e) => e.kind)).toEqual(['hold', 'release', 'debit']);
    expect(mine[2]).toMatchObject({ credits: 0.5, breakdown: { compute: 0.5 } });
    expect(await manager.ledger.balance(ACCOUNT)).toMatchObject({ balance: 999.49, held: 15 });

    // Deleting the snapshot neither refunds nor charges again.
    await manager.snapshots.delete(snapshot.id);
    const snapshotEntries = (await manager.ledger.history()).filter((e) => e.sandbox === snapshot.id);
    expect(snapshotEntries).toHaveLength(1);
  });
});

describe('metering: snapshot storage and the no-overspend rule', () => {
  // Storage takes what it costs, at most what is available: an account is never overspent.
  test('storage an account cannot pay for is waived, never overspent', async () => {
    const { manager, stub } = await setup();
    const sandbox = await stub();
    await manager.ledger.hold(ACCOUNT, 985, 'other', new Date('2999-01-01'), () => 'refused');
    expect((await manager.ledger.balance(ACCOUNT)).available).toBe(0);
    const snapshot = await manager.snapshots.create(sandbox.id);
    expect((await manager.ledger.balance(ACCOUNT)).available).toBe(0);
    expect(snapshot.cost).toMatchObject({ credits: 0, breakdown: { waived: 0.01 } });
  });
});

describe('routing', () => {
  // Any --host resolves to a reachable host, so ext.compose-ssh would be a feasible candidate.
  const resolveHost = async (name: string | undefined) => ({
    name: name ?? 'box',
    ssh: { address: '127.0.0.1', port: 22, user: 'u' },
    labels: [],
  });

  test('a restore through a routed profile only considers the extension that took the snapshot', async () => {
    const { manager, stub } = await setup({ resolveHost });
    const sandbox = await stub('burst-sandbox');
    expect(sandbox).toMatchObject({ profile: 'profile.burst-sandbox', extension: 'ext.saas-stub' });
    const snapshot = await manager.snapshots.create(sandbox.id);

    const restored = await manager.snapshots.restore(snapshot.id, { account: ACCOUNT });
    expect(restored).toMatchObject({ extension: 'ext.saas-stub', restored_from: snapshot.id });

    // An account that cannot pay for the metered candidate would fall back to compose-ssh on a create…
    await manager.ledger.hold('broke', 1000, 'other', new Date('2999-01-01'), () => 'refused');
    const route = await manager.route({
      profile: 'burst-sandbox',
      inputs: { repo: sampleRepo() },
      account: 'broke',
    });
    expect(route.candidates.map((c) => [c.extension, c.feasible])).toEqual([
      ['ext.saas-stub', false],
      ['ext.compose-ssh', true],
    ]);
    // …but a restore of a saas-stub snapshot never does.
    const error = await manager.snapshots.restore(snapshot.id, { account: 'broke' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NoBackendAvailableError);
    const { candidates } = (error as NoBackendAvailableError).details as {
      candidates: Array<{ extension: string; reasons: string[] }>;
    };
    expect(candidates[0]?.reasons[0]).toMatch(/^insufficient credits/);
    expect(candidates[1]).toMatchObject({
      extension: 'ext.compose-ssh',
      reasons: ['the snapshot was taken with ext.saas-stub'],
    });
  });
});

/** Makes the probe's snapshot write a real artifact, and takes one of `sandbox`. */
async function probeSnapshot(manager: SandboxManager, sandbox: SandboxRecord): Promise<SnapshotRecord> {
  probeHooks().snapshot = async (_handle, request) => {
    mkdirSync(dirname(request.localPath), { recursive: true });
    writeFileSync(request.localPath, 'probe artifact');
    return {
      location: { kind: 'local', path: request.localPath },
      size_bytes: 14,
      sha256: await sha256File(request.localPath),
      contents: { workspace: true, volumes: [] },
      consistency: 'pause',
      paused_ms: 1,
      inputs: { name: 'from-snapshot', services: 'web' },
    };
  };
  return manager.snapshots.create(sandbox.id);
}

describe('restores the extension fails', () => {
  test('as new: rolled back like a failed create; typed snapshot errors keep their code', async () => {
    const { manager, store } = await setup();
    const sandbox = await manager.create({ profile: 'probe', inputs: { name: 'p' } });
    const snapshot = await probeSnapshot(manager, sandbox);
    const targets: RestoreTarget[] = [];
    const sources: RestoreSource[] = [];
    probeHooks().restore = async (source, target) => {
      sources.push(source);
      targets.push(target);
      if (target.mode === 'new') MemoryExtension.resources.set(target.request.sandboxId, { name: 'half' });
      throw new Error('extract failed');
    };
    const error = await manager.snapshots
      .restore(snapshot.id, { inputs: { services: 'api' } })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProvisionError);
    expect((error as Error).message).toMatch(
      /^sandbox [a-z0-9]{12}: restore failed: extract failed \(rolled back;/,
    );
    const target = targets[0] as Extract<RestoreTarget, { mode: 'new' }>;
    expect(target.mode).toBe('new');
    // The snapshot's inputs come back, inputs given to the restore override them, and the extension
    // gets them as its validateInputs returned them (with its defaults).
    expect(target.request.inputs).toEqual({ name: 'from-snapshot', services: 'api', fail_at: 'none' });
    expect(sources[0]).toMatchObject({
      snapshot: { id: snapshot.id },
      localPath: snapshot.locations[0]?.path,
    });
    const failed = await manager.get(target.request.sandboxId);
    expect(failed).toMatchObject({ state: 'failed', restored_from: snapshot.id, error: { step: 'restore' } });
    expect(MemoryExtension.resources.has(failed.id)).toBe(false);

    probeHooks().restore = async () => {
      throw new SnapshotCorruptError('artifact on the host is corrupt');
    };
    await expect(manager.snapshots.restore(snapshot.id)).rejects.toThrow(SnapshotCorruptError);
    const states = (await store.listSandboxes()).map((r) => r.state).sort();
    expect(states).toEqual(['failed', 'failed', 'ready']);
  });

  test('in place: the sandbox stays ready with the error recorded, and a later restore clears it', async () => {
    const { manager } = await setup();
    const sandbox = await manager.create({ profile: 'probe', inputs: { name: 'p' } });
    const snapshot = await probeSnapshot(manager, sandbox);
    probeHooks().restore = async () => {
      throw new Error('compose down failed');
    };
    await expect(manager.snapshots.restore(snapshot.id, { mode: 'in-place' })).rejects.toThrow(
      `sandbox ${sandbox.id}: restoring ${snapshot.id} in place failed: compose down failed (the sandbox is still registered: retry, or destroy it)`,
    );
    const after = await manager.get(sandbox.id);
    expect(after).toMatchObject({
      state: 'ready',
      error: { step: 'restore', code: 'SNAPSHOT_FAILED', message: 'compose down failed' },
    });
    expect(after.restored_from).toBeUndefined();

    probeHooks().restore = async (_source, target) => {
      expect(target).toMatchObject({
        mode: 'in-place',
        handle: { sandbox_id: sandbox.id, host: 'local' },
        inputs: { env: 'K' },
      });
      return { ...(target as { handle: SandboxRecord['handle'] }).handle, restored: true } as never;
    };
    const restored = await manager.snapshots.restore(snapshot.id, { mode: 'in-place', inputs: { env: 'K' } });
    expect(restored).toMatchObject({
      id: sandbox.id,
      restored_from: snapshot.id,
      handle: { restored: true },
    });
    expect(restored.error).toBeUndefined();
  });
});

describe('crash safety (an extension that inspects the store)', () => {
  test('the record is `creating` before the extension is called', async () => {
    const { manager, store, home } = await setup();
    const sandbox = await manager.create({ profile: 'probe', inputs: { name: 'p' } });
    let seen: SnapshotRecord[] = [];
    probeHooks().snapshot = async (handle, request) => {
      seen = await store.listSnapshots();
      expect(handle).toMatchObject({ sandbox_id: sandbox.id, host: 'local' });
      expect(request).toMatchObject({ capture: ['workspace', 'volumes'], consistency: 'pause' });
      expect(request.localPath).toBe(join(home, 'snapshots', 'artifacts', `${request.snapshotId}.tar`));
      mkdirSync(dirname(request.localPath), { recursive: true });
      writeFileSync(request.localPath, 'artifact');
      return {
        location: { kind: 'local', path: request.localPath },
        size_bytes: 8,
        sha256: await sha256File(request.localPath),
        contents: { workspace: true, volumes: [] },
        consistency: 'pause',
        paused_ms: 3,
        inputs: { services: 'web' },
      };
    };
    const snapshot = await manager.snapshots.create(sandbox.id, { name: 'probed' });
    expect(seen).toEqual([
      expect.objectContaining({
        id: snapshot.id,
        name: 'probed',
        status: 'creating',
        sandbox_id: sandbox.id,
        locations: [],
      }),
    ]);
    expect(seen[0]?.sha256).toBeUndefined();
    expect(snapshot).toMatchObject({ status: 'ready', paused_ms: 3, inputs: { services: 'web' } });
    // Self-hosted: no storage charge, no cost on the record.
    expect(snapshot.cost).toBeUndefined();
  });

  test('a snapshot() that throws leaves the record `failed` with its error and no artifact file', async () => {
    const { manager, store } = await setup();
    const sandbox = await manager.create({ profile: 'probe', inputs: { name: 'p' } });
    let localPath = '';
    probeHooks().snapshot = async (_handle, request) => {
      localPath = request.localPath;
      mkdirSync(dirname(localPath), { recursive: true });
      writeFileSync(localPath, 'half an artifact');
      throw new Error('disk full');
    };
    const error = await manager.snapshots.create(sandbox.id, { name: 'doomed' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SnapshotError);
    expect((error as SnapshotError).code).toBe('SNAPSHOT_FAILED');
    expect((error as Error).message).toBe(
      `snapshot of sandbox ${sandbox.id} failed: disk full (services were resumed; nothing was kept)`,
    );
    expect(existsSync(localPath)).toBe(false);
    const [record] = await store.listSnapshots();
    expect(record).toMatchObject({
      name: 'doomed',
      status: 'failed',
      error: { code: 'SNAPSHOT_FAILED', message: 'disk full' },
      locations: [],
    });
    expect(await manager.snapshots.list()).toEqual([]);
    expect(await manager.snapshots.list({ all: true })).toEqual([record]);
    await expect(manager.snapshots.restore('doomed')).rejects.toThrow(StateConflictError);
    // A failed snapshot does not hold on to its name, and the sandbox is still usable.
    expect((await manager.get(sandbox.id)).state).toBe('ready');
    probeHooks().snapshot = async () => {
      throw new SnapshotCorruptError('typed errors keep their code');
    };
    await expect(manager.snapshots.create(sandbox.id, { name: 'doomed' })).rejects.toThrow(
      SnapshotCorruptError,
    );
  });

  test('a destroy waits for a running snapshot (both hold the sandbox lock)', async () => {
    const { manager } = await setup();
    const sandbox = await manager.create({ profile: 'probe', inputs: { name: 'p' } });
    const events: string[] = [];
    let destroying: Promise<unknown> = Promise.resolve();
    probeHooks().snapshot = async (_handle, request) => {
      destroying = manager.destroy(sandbox.id).then(() => events.push('destroyed'));
      await new Promise((resolve) => setTimeout(resolve, 50));
      events.push('captured');
      return {
        location: { kind: 'local', path: request.localPath },
        size_bytes: 0,
        sha256: 'b'.repeat(64),
        contents: { workspace: false, volumes: [] },
        consistency: 'pause',
        paused_ms: 0,
        inputs: {},
      };
    };
    await manager.snapshots.create(sandbox.id);
    await destroying;
    expect(events).toEqual(['captured', 'destroyed']);
  });

  // A delete that lands while a capture runs is refused: the snapshot is not resurrected by it.
  test('a delete during the capture is refused, and the capture is kept', async () => {
    const { manager } = await setup();
    const sandbox = await manager.create({ profile: 'probe', inputs: { name: 'p' } });
    let deleted: unknown;
    let localPath = '';
    probeHooks().snapshot = async (_handle, request) => {
      localPath = request.localPath;
      deleted = await manager.snapshots.delete(request.snapshotId).catch((e: unknown) => e);
      mkdirSync(dirname(request.localPath), { recursive: true });
      writeFileSync(request.localPath, 'artifact');
      return {
        location: { kind: 'local', path: request.localPath },
        size_bytes: 8,
        sha256: await sha256File(request.localPath),
        contents: { workspace: true, volumes: [] },
        consistency: 'pause',
        paused_ms: 0,
        inputs: {},
      };
    };
    await manager.snapshots.create(sandbox.id).catch(() => {});
    const final = (await manager.snapshots.list({ all: true }))[0] as SnapshotRecord;
    if (deleted instanceof StateConflictError) {
      expect(final.status).toBe('ready'); // refused: the capture goes on and is kept
    } else {
      expect(final.status).toBe('deleted');
      expect(existsSync(localPath)).toBe(false);
    }
  });

  // The name is checked and taken under one lock: concurrent creates cannot both get it.
  test('two concurrent creates with the same --name: only one succeeds', async () => {
    const { manager, stub } = await setup();
    const a = await stub();
    const b = await stub();
    const results = await Promise.allSettled([
      manager.snapshots.create(a.id, { name: 'same' }),
      manager.snapshots.create(b.id, { name: 'same' }),
    ]);
    expect(results.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
    const live = (await manager.snapshots.list()).filter((s) => s.name === 'same');
    expect(live).toHaveLength(1);
  });
});
