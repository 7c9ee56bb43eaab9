import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, test } from 'vitest';
import { StateConflictError } from '../errors.js';
import type { LedgerEntry } from '../records/ledger-entry.js';
import type { SandboxRecord } from '../records/sandbox.js';
import type { SnapshotRecord } from '../records/snapshot.js';
import type { StateStore } from '../state/store.js';
import { newSandboxId } from '../util/ids.js';
import { newSnapshotId } from '../util/snapshot-ids.js';

/**
 * The contract every StateStore honours, as a vitest suite: the file store runs it in unit tests,
 * the PostgreSQL store against a real database in the e2e suite. `open` gives a store on empty
 * state; `openAnother` a second store on the same state, as another process would open it.
 */
export interface StateStoreTarget {
  open: () => Promise<StateStore> | StateStore;
  openAnother?: (store: StateStore) => Promise<StateStore> | StateStore;
}

const at = (offsetMs = 0) => new Date(Date.UTC(2026, 11, 7, 12) + offsetMs).toISOString();

function sandbox(fields: Partial<SandboxRecord> = {}): SandboxRecord {
  return {
    id: newSandboxId(),
    state: 'ready',
    profile: 'profile.saas-stub',
    extension: 'ext.saas-stub',
    host: 'local',
    consumer: 'conformance',
    account: 'conformance',
    created_at: at(),
    updated_at: at(),
    expires_at: at(3_600_000),
    ttl_seconds: 3600,
    ...fields,
  };
}

function snapshot(fields: Partial<SnapshotRecord> = {}): SnapshotRecord {
  return {
    id: newSnapshotId(),
    status: 'ready',
    sandbox_id: newSandboxId(),
    profile: 'profile.saas-stub',
    extension: 'ext.saas-stub',
    host: 'local',
    created_at: at(),
    updated_at: at(),
    locations: [],
    inputs: {},
    ...fields,
  };
}

function entry(
  account: string,
  kind: LedgerEntry['kind'],
  credits: number,
  fields: Partial<LedgerEntry> = {},
) {
  return { id: randomUUID(), at: at(), account, kind, credits, ...fields } as LedgerEntry;
}

export function describeStateStoreConformance(name: string, target: StateStoreTarget): void {
  describe(`state store conformance: ${name}`, () => {
    const opened: StateStore[] = [];
    const open = async () => {
      const store = await target.open();
      opened.push(store);
      return store;
    };
    afterAll(async () => {
      for (const store of opened) await store.close?.();
    });

    test('sandbox records: put replaces, get returns what was put, list is oldest first', async () => {
      const store = await open();
      const older = sandbox({ created_at: at(-1000) });
      const newer = sandbox();
      await store.putSandbox(newer);
      await store.putSandbox(older);
      const changed = { ...newer, state: 'destroyed' as const, destroyed_at: at(5000), updated_at: at(5000) };
      await store.putSandbox(changed);
      expect(await store.getSandbox(newer.id)).toEqual(changed);
      expect((await store.listSandboxes()).map((r) => r.id)).toEqual([older.id, newer.id]);
      expect(await store.getSandbox(newSandboxId())).toBeUndefined();
      expect(await store.getSandbox('../etc/passwd')).toBeUndefined();
    });

    test('a record that is not valid is refused, and nothing is stored', async () => {
      const store = await open();
      const before = (await store.listSandboxes()).length;
      await expect(store.putSandbox({ ...sandbox(), id: '../x' })).rejects.toThrow();
      await expect(store.putSandbox({ ...sandbox(), state: 'weird' as 'ready' })).rejects.toThrow();
      expect(await store.listSandboxes()).toHaveLength(before);
    });

    test('snapshot records: put, get, list', async () => {
      const store = await open();
      const first = snapshot({ created_at: at(-1000) });
      const second = snapshot();
      await store.putSnapshot(second);
      await store.putSnapshot(first);
      await store.putSnapshot({ ...second, status: 'deleted' });
      expect((await store.getSnapshot(second.id))?.status).toBe('deleted');
      expect((await store.listSnapshots()).map((s) => s.id)).toEqual([first.id, second.id]);
      expect(await store.getSnapshot('snap-aaaaaaaaaaaa')).toBeUndefined();
    });

    test('another store on the same state sees every write', async () => {
      if (!target.openAnother) return;
      const store = await open();
      const other = await target.openAnother(store);
      opened.push(other);
      const record = sandbox();
      await store.putSandbox(record);
      expect(await other.getSandbox(record.id)).toEqual(record);
      await other.ledgerTransaction('shared', () => ({ append: [entry('shared', 'grant', 5)], result: 0 }));
      expect(await store.readLedger('shared')).toHaveLength(1);
    });

    test('ledger: per account, in order; a transaction that throws writes nothing', async () => {
      const store = await open();
      const a = `a-${randomUUID()}`;
      const b = `b-${randomUUID()}`;
      const grant = entry(a, 'grant', 10, { note: 'first' });
      await store.ledgerTransaction(a, (entries) => ({ append: [grant], result: entries.length }));
      await store.ledgerTransaction(b, () => ({ append: [entry(b, 'grant', 1)], result: 0 }));
      const hold = entry(a, 'hold', 4, { sandbox: 'aaaaaaaaaaaa', expires_at: at(60_000) });
      const seen = await store.ledgerTransaction(a, (entries) => ({ append: [hold], result: entries }));
      expect(seen).toEqual([grant]);
      expect(await store.readLedger(a)).toEqual([grant, hold]);
      await expect(
        store.ledgerTransaction(a, () => {
          throw new Error('refused');
        }),
      ).rejects.toThrow('refused');
      expect(await store.readLedger(a)).toEqual([grant, hold]);
      const all = await store.readLedger();
      expect(all.filter((e) => e.account === a || e.account === b)).toHaveLength(3);
    });

    test('ledger transactions on one account never interleave: 20 at once, a budget of 3', async () => {
      const store = await open();
      const stores = target.openAnother ? [store, await target.openAnother(store)] : [store];
      opened.push(...stores.slice(1));
      const account = `race-${randomUUID()}`;
      await store.ledgerTransaction(account, () => ({ append: [entry(account, 'grant', 3)], result: 0 }));
      const attempts = Array.from({ length: 20 }, (_, i) =>
        (stores[i % stores.length] as StateStore).ledgerTransaction(account, async (entries) => {
          const granted = entries.filter((e) => e.kind === 'grant').reduce((s, e) => s + e.credits, 0);
          const held = entries.filter((e) => e.kind === 'hold').reduce((s, e) => s + e.credits, 0);
          await sleep(2); // widen the window a non-atomic check-and-append would lose in
          if (granted - held < 1) return { append: [], result: false };
          return { append: [entry(account, 'hold', 1, { sandbox: newSandboxId() })], result: true };
        }),
      );
      const admitted = (await Promise.all(attempts)).filter(Boolean);
      expect(admitted).toHaveLength(3);
      expect((await store.readLedger(account)).filter((e) => e.kind === 'hold')).toHaveLength(3);
    });

    test('importLedger adds only entries it does not have, and says how many', async () => {
      const store = await open();
      const account = `import-${randomUUID()}`;
      const entries = [entry(account, 'grant', 2), entry(account, 'grant', 3)];
      expect(await store.importLedger(entries)).toBe(2);
      expect(await store.importLedger(entries)).toBe(0);
      expect(await store.readLedger(account)).toEqual(entries);
    });

    test('withLock excludes other holders of the key, not of other keys; waitMs gives up with a conflict', async () => {
      const store = await open();
      const other = target.openAnother ? await target.openAnother(store) : store;
      if (other !== store) opened.push(other);
      const key = `sandbox-${newSandboxId()}`;
      const order: string[] = [];
      let release: () => void = () => {};
      const holding = store.withLock(key, async () => {
        order.push('first in');
        await new Promise<void>((resolve) => {
          release = resolve;
        });
        order.push('first out');
      });
      await sleep(50);
      await expect(other.withLock(key, async () => 'never', { waitMs: 300 })).rejects.toThrow(
        StateConflictError,
      );
      expect(await other.withLock(`${key}-else`, async () => 'free', { waitMs: 300 })).toBe('free');
      const second = other.withLock(key, async () => order.push('second'), { waitMs: 10_000 });
      await sleep(50);
      release();
      await holding;
      await second;
      expect(order).toEqual(['first in', 'first out', 'second']);
    });

    test('host statuses: put replaces, get and list (by alias) return them; a bad alias is refused', async () => {
      const store = await open();
      const a = { host: 'docker-a', drained: true, drained_at: at(), updated_at: at() };
      const b = {
        host: 'docker-b',
        drained: false,
        unhealthy_until: at(60_000),
        last_error: { at: at(), message: 'cannot connect' },
        probe: { at: at(), free_disk_bytes: 1_000_000, free_memory_bytes: 2_000_000 },
        updated_at: at(),
      };
      await store.putHostStatus(b);
      await store.putHostStatus(a);
      await store.putHostStatus({ ...a, drained: false, updated_at: at(1000) });
      expect(await store.getHostStatus('docker-a')).toMatchObject({ drained: false });
      expect(await store.getHostStatus('docker-b')).toEqual(b);
      expect((await store.listHostStatuses()).map((s) => s.host)).toEqual(['docker-a', 'docker-b']);
      expect(await store.getHostStatus('../x')).toBeUndefined();
      await expect(store.putHostStatus({ ...a, host: '../x' })).rejects.toThrow();
    });

    test('a lock is released when its work throws', async () => {
      const store = await open();
      const key = `sandbox-${newSandboxId()}`;
      await expect(
        store.withLock(key, async () => {
          throw new Error('boom');
        }),
      ).rejects.toThrow('boom');
      expect(await store.withLock(key, async () => 'again', { waitMs: 1000 })).toBe('again');
    });
  });
}
