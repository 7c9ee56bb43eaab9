import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { beforeEach, describe, expect, test } from 'vitest';
import { builtinDeclarations } from '../../src/catalog/builtin-declarations.generated.js';
import { loadCatalog } from '../../src/catalog/catalog.js';
import { InputError, NotFoundError, ProvisionError, TeardownError } from '../../src/errors.js';
import { SandboxManager } from '../../src/manager/manager.js';
import { FileStateStore } from '../../src/state/file-store.js';
import { memoryDeclarations, sampleRepo, tempDir } from '../support/fixtures.js';
import { MemoryExtension } from '../support/memory-extension.js';

async function setup(home = tempDir()) {
  const catalog = await loadCatalog({
    builtins: [...builtinDeclarations, ...memoryDeclarations],
    userDirs: [],
  });
  const store = new FileStateStore(home);
  return {
    home,
    store,
    manager: new SandboxManager({
      catalog,
      store,
      home,
      initialCredits: 1000,
      inputs: { baseDir: process.cwd() },
    }),
  };
}

beforeEach(() => MemoryExtension.resources.clear());

describe('SandboxManager', () => {
  test('create → get → list → destroy, remembered across manager instances', async () => {
    const { manager, home } = await setup();
    const steps: string[] = [];
    const created = await manager.create(
      { profile: 'memory', inputs: { name: 'a' }, consumer: 'ci:run-1' },
      { progress: (m) => steps.push(m) },
    );
    expect(created).toMatchObject({
      state: 'ready',
      profile: 'profile.memory',
      extension: 'ext.memory',
      host: 'local',
      consumer: 'ci:run-1',
      ttl_seconds: 600,
      reachability: { remote_dir: `memory://${created.id}` },
    });
    expect(created.owner_pid).toBeUndefined();
    expect(Date.parse(created.expires_at) - Date.parse(created.created_at)).toBe(600_000);
    expect(steps.some((s) => s.includes('ready'))).toBe(true);

    const other = (await setup(home)).manager;
    expect((await other.get(created.id)).state).toBe('ready');
    expect((await other.get(`sbx-${created.id}`)).id).toBe(created.id);
    expect((await other.list()).map((r) => r.id)).toEqual([created.id]);

    const destroyed = await other.destroy(created.id);
    expect(destroyed.state).toBe('destroyed');
    expect(destroyed.destroyed_at).toBeDefined();
    expect(MemoryExtension.resources.has(created.id)).toBe(false);
    expect(await manager.list()).toEqual([]);
    expect((await manager.list({ all: true })).map((r) => r.state)).toEqual(['destroyed']);
  });

  test('destroy is idempotent', async () => {
    const { manager } = await setup();
    const { id } = await manager.create({ profile: 'memory', inputs: { name: 'a' } });
    const first = await manager.destroy(id);
    const second = await manager.destroy(id);
    expect(second).toEqual(first);
  });

  test.each(['provision', 'provision_after_create', 'wait_ready'])(
    'a failure in %s rolls back at once and leaves the sandbox failed with its cause',
    async (failAt) => {
      const { manager } = await setup();
      const error = await manager
        .create({ profile: 'memory', inputs: { name: 'a', fail_at: failAt } })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ProvisionError);
      const step = failAt === 'wait_ready' ? 'wait_ready' : 'provision';
      expect((error as Error).message).toMatch(
        new RegExp(`^sandbox [a-z0-9]{12}: ${step} failed: injected .* \\(rolled back;`),
      );
      expect(MemoryExtension.resources.size).toBe(0);
      const [record] = await manager.list({ all: true });
      expect(record).toMatchObject({ state: 'failed', error: { step } });
      expect(record?.cleanup?.leftovers).toEqual([]);
      expect(await manager.list()).toEqual([]);
    },
  );

  test('bad input is refused before anything is recorded or made', async () => {
    const { manager } = await setup();
    await expect(manager.create({ profile: 'memory' })).rejects.toThrow(
      'profile.memory: input "name" required',
    );
    await expect(manager.create({ profile: 'memory', inputs: { name: 'a' }, ttl: '2h' })).rejects.toThrow(
      "ttl: 2h is longer than profile.memory's max_ttl of 1h",
    );
    await expect(
      manager.create({ profile: 'memory', inputs: { name: 'a' }, ttl: 'forever' }),
    ).rejects.toThrow(InputError);
    await expect(
      manager.create({ profile: 'memory', inputs: { name: 'a' }, host: 'faraway' }),
    ).rejects.toThrow('host: ext.memory runs on this machine and takes no host (got "faraway")');
    await expect(manager.create({ profile: 'nope', inputs: {} })).rejects.toThrow(NotFoundError);
    expect(await manager.list({ all: true })).toEqual([]);
  });

  test('a ttl within max_ttl sets the expiry', async () => {
    const { manager } = await setup();
    const record = await manager.create({ profile: 'memory', inputs: { name: 'a' }, ttl: '45m' });
    expect(record.ttl_seconds).toBe(2700);
  });

  test('a failed teardown keeps the sandbox destroying so destroy can be retried', async () => {
    const { manager, store } = await setup();
    const record = await manager.create({ profile: 'memory', inputs: { name: 'a' } });
    const handle = { sandbox_id: record.id, host: 'local' };
    await store.putSandbox({ ...record, handle: { ...handle, fail_at: 'teardown' } });
    const error = await manager.destroy(record.id).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TeardownError);
    expect((error as Error).message).toContain('(it stays "destroying"; destroy it again)');
    expect((await manager.get(record.id)).state).toBe('destroying');

    await store.putSandbox({ ...(await manager.get(record.id)), handle });
    expect((await manager.destroy(record.id)).state).toBe('destroyed');
    expect(MemoryExtension.resources.size).toBe(0);
  });

  test('unknown ids: malformed is an input error, well-formed but absent is not found', async () => {
    const { manager } = await setup();
    await expect(manager.get('../../etc')).rejects.toThrow(InputError);
    await expect(manager.destroy('aaaaaaaaaaaa')).rejects.toThrow(NotFoundError);
  });

  test('the saas-stub end to end through the manager', async () => {
    const { manager, home } = await setup();
    const repo = sampleRepo();
    const record = await manager.create({ profile: 'saas-stub', inputs: { repo } });
    const dir = join(home, 'saas-stub', `sbx-${record.id}`);
    expect(record.reachability?.remote_dir).toBe(dir);
    expect(existsSync(join(dir, 'README.md'))).toBe(true);
    await manager.destroy(record.id);
    expect(existsSync(dir)).toBe(false);
  });
});

describe('extend', () => {
  test('pushes the expiry out, swaps the hold for the longer life, and respects max_ttl', async () => {
    let now = new Date('2026-01-01T00:00:00Z');
    const home = tempDir();
    const catalog = await loadCatalog({
      builtins: [...builtinDeclarations, ...memoryDeclarations],
      userDirs: [],
    });
    const store = new FileStateStore(home);
    const manager = new SandboxManager({
      catalog,
      store,
      home,
      initialCredits: 100,
      now: () => now,
      inputs: { baseDir: process.cwd() },
    });
    const record = await manager.create({ profile: 'memory', inputs: { name: 'a' }, account: 'x' });
    expect(record.estimate?.credits).toBe(10); // 10 minutes at 1 credit per started minute
    now = new Date('2026-01-01T00:05:00Z');
    const extended = await manager.extend(record.id, '30m');
    expect(extended.expires_at).toBe('2026-01-01T00:35:00.000Z');
    expect(extended.ttl_seconds).toBe(35 * 60);
    expect(extended.estimate?.credits).toBe(35);
    expect(await manager.ledger.balance('x')).toMatchObject({ balance: 100, held: 35, available: 65 });
    await expect(manager.extend(record.id, '1h')).rejects.toThrow(
      "ttl: the sandbox would live 1h5m in all, longer than profile.memory's max_ttl of 1h",
    );
    await manager.destroy(record.id);
    await expect(manager.extend(record.id, '5m')).rejects.toThrow(
      'is destroyed: only a live sandbox can be extended',
    );
    expect(await manager.ledger.balance('x')).toMatchObject({ held: 0 });
  });

  test('refuses when the longer life cannot be afforded, and changes nothing', async () => {
    const { manager } = await setup();
    const record = await manager.create({ profile: 'memory', inputs: { name: 'a' }, account: 'y' });
    await manager.ledger.hold('y', 985, 'other', new Date('2999-01-01'), () => 'refused');
    await expect(manager.extend(record.id, '59m')).rejects.toThrow(/cannot afford extending sandbox/);
    expect((await manager.get(record.id)).expires_at).toBe(record.expires_at);
  });
});
