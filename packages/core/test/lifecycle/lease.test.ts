import { describe, expect, test } from 'vitest';
import { builtinDeclarations } from '../../src/catalog/builtin-declarations.generated.js';
import { loadCatalog } from '../../src/catalog/catalog.js';
import { InputError } from '../../src/errors.js';
import { SandboxManager } from '../../src/manager/manager.js';
import { leaseDeadline } from '../../src/records/lease.js';
import { FileStateStore } from '../../src/state/file-store.js';
import { sampleRepo, tempDir } from '../support/fixtures.js';

/**
 * A lease only the store keeps (saas-stub has no host-side switch): renewals land in the record, and
 * the reaper (serve) or gc ends a sandbox whose keeper stopped renewing, billed to its last renewal.
 */

const T0 = new Date('2026-01-01T00:00:00.000Z');
const at = (seconds: number) => new Date(T0.getTime() + seconds * 1000);

async function setup() {
  const home = tempDir();
  const catalog = await loadCatalog({ builtins: builtinDeclarations, userDirs: [] });
  const clock = { now: T0 };
  const manager = new SandboxManager({
    catalog,
    store: new FileStateStore(home),
    home,
    initialCredits: 1000,
    now: () => clock.now,
    inputs: { baseDir: process.cwd() },
  });
  const create = (fields: Record<string, unknown> = {}) =>
    manager.create({
      profile: 'saas-stub',
      inputs: { repo: sampleRepo() },
      account: 'team-a',
      ttl: '1h',
      lease: '60s',
      ...fields,
    });
  return { manager, clock, create };
}

describe('leases on a backend that keeps none itself (saas-stub)', () => {
  test('a renewal moves the deadline; the record says when it was renewed', async () => {
    const { manager, clock, create } = await setup();
    const record = await create();
    expect(record.lease_seconds).toBe(60);
    expect(leaseDeadline(record)?.toISOString()).toBe(at(60).toISOString());
    clock.now = at(45);
    expect(await manager.renewLease(record.id)).toBe(true);
    const renewed = await manager.get(record.id);
    expect(renewed.lease_renewed_at).toBe(at(45).toISOString());
    expect(leaseDeadline(renewed)?.toISOString()).toBe(at(105).toISOString());
  });

  test('once lapsed, a renewal says gone and the reaper ends it, billed to the last renewal', async () => {
    const { manager, clock, create } = await setup();
    const record = await create();
    for (const second of [45, 90, 135, 180, 225, 240]) {
      clock.now = at(second);
      expect(await manager.renewLease(record.id)).toBe(true);
    }
    clock.now = at(299); // 59 s after the last renewal: still leased
    expect(await manager.reaper().pass(clock.now.getTime())).toEqual([]);
    clock.now = at(400);
    expect(await manager.renewLease(record.id)).toBe(false);
    const reaped = await manager.reaper().pass(clock.now.getTime());
    expect(reaped).toEqual([{ sandbox: record.id, found: 'ready', result: 'lease lapsed' }]);
    const ended = await manager.get(record.id);
    // 240 s of use (to the last renewal), not 400: 4 started minutes at 0.5 credits.
    expect(ended).toMatchObject({ state: 'destroyed', cost: { credits: 2, duration: 240 } });
    expect(await manager.ledger.balance('team-a')).toMatchObject({ balance: 998, held: 0 });
  });

  test('gc ends a lapsed one too, saying why', async () => {
    const { manager, clock, create } = await setup();
    const record = await create();
    clock.now = at(61);
    const findings = await manager.gc({ scanHosts: false });
    expect(findings).toContainEqual(
      expect.objectContaining({
        sandbox: record.id,
        action: 'destroy',
        result: 'done',
        reason: `lease lapsed (not renewed since ${record.ready_at}, lease 60s)`,
      }),
    );
    expect((await manager.get(record.id)).state).toBe('destroyed');
  });

  test("the action's default lease (only where the backend keeps it itself) is dropped here", async () => {
    const { create } = await setup();
    const record = await create({ leaseIfSupported: true });
    expect(record.lease_seconds).toBeUndefined();
  });

  test('renewing a sandbox without a lease is a usage error naming the field', async () => {
    const { manager, create } = await setup();
    const record = await create({ lease: undefined });
    const error = await manager.renewLease(record.id).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InputError);
    expect(error).toMatchObject({ details: { field: 'lease' } });
  });

  test('a destroyed sandbox is gone for its keeper', async () => {
    const { manager, create } = await setup();
    const record = await create();
    await manager.destroy(record.id);
    expect(await manager.renewLease(record.id)).toBe(false);
  });
});
