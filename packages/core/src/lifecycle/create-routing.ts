import type { SandboxRecord } from '../records/sandbox.js';
import type { RoutingChoice } from '../routing/resolver.js';
import { errorOf, HOLD_GRACE_MS, ROUTE_LOCK } from './keys.js';
import type { CreatePlan } from './plan.js';
import type { LifecycleDeps } from './types.js';

/**
 * Routing for a create, under the route lock (counting live sandboxes and writing the record
 * together, so concurrent creates never overfill a host): the first time, and again after a host
 * failed (failover), with the failed hosts left out.
 */

type Save = (record: SandboxRecord) => Promise<SandboxRecord>;

/** Every candidate and host routing passed over, with why (`routing` in the record, `-v`). */
function skipped(choice: RoutingChoice): NonNullable<SandboxRecord['routing']> {
  return choice.decision.candidates
    .filter((c) => !c.feasible)
    .map((c) => ({
      extension: c.extension,
      host: c.host,
      ...(c.pool ? { pool: c.pool } : {}),
      reasons: c.reasons,
    }));
}

/** Where the chosen candidate puts the sandbox, as the record keeps it. */
function placed(choice: RoutingChoice): Partial<SandboxRecord> {
  return {
    extension: choice.extension.id,
    host: choice.host?.name ?? 'local',
    target: choice.host,
    estimate: choice.report.estimate,
    hold: choice.hold?.id,
    routing: skipped(choice).length > 0 ? skipped(choice) : undefined,
  };
}

export async function routeAndRecord(
  deps: LifecycleDeps,
  plan: CreatePlan,
  id: string,
  save: Save,
): Promise<{ record: SandboxRecord; choice: RoutingChoice }> {
  return deps.store.withLock(ROUTE_LOCK, async () => {
    const createdAt = deps.now();
    const expiresAt = new Date(createdAt.getTime() + plan.ttlSeconds * 1000);
    const choice = await deps.router(await deps.catalog()).choose(plan, {
      sandboxId: id,
      holdUntil: new Date(expiresAt.getTime() + HOLD_GRACE_MS),
    });
    const record = withoutUndefined({
      id,
      state: 'provisioning' as const,
      profile: plan.profile.id,
      consumer: plan.consumer,
      account: plan.account,
      created_at: createdAt.toISOString(),
      updated_at: createdAt.toISOString(),
      expires_at: expiresAt.toISOString(),
      ttl_seconds: plan.ttlSeconds,
      // A default lease (the action's) only where the backend keeps it itself: a lease only this
      // store keeps means nothing once the runner that holds the store is gone.
      lease_seconds: choice.extension.renewLease || !plan.leaseIfSupported ? plan.leaseSeconds : undefined,
      restored_from: plan.restore?.snapshot,
      owner_pid: process.pid,
      ...placed(choice),
    }) as SandboxRecord;
    try {
      return { record: await save(record), choice };
    } catch (error) {
      // Writing the record or the caller's onRecord failed: nothing was provisioned, so give the hold
      // back and leave no `provisioning` record that would count against capacity.
      if (choice.hold) await deps.ledger.release(choice.hold, 'the sandbox record could not be saved');
      await deps.store
        .putSandbox({ ...record, state: 'failed', error: errorOf('record', error), owner_pid: undefined })
        .catch(() => {});
      throw error;
    }
  });
}

/**
 * After a host failed: routes again without the failed hosts (`plan.exclude`) and moves the record
 * to the new host, keeping what happened on the failed ones in its `routing`. Throws (with every
 * host and its reason) when no host is left.
 */
export async function reroute(
  deps: LifecycleDeps,
  plan: CreatePlan,
  record: SandboxRecord,
  failures: NonNullable<SandboxRecord['routing']>,
  save: Save,
): Promise<{ record: SandboxRecord; choice: RoutingChoice }> {
  return deps.store.withLock(ROUTE_LOCK, async () => {
    const choice = await deps.router(await deps.catalog()).choose(plan, {
      sandboxId: record.id,
      holdUntil: new Date(Date.parse(record.expires_at) + HOLD_GRACE_MS),
    });
    const { handle: _, provisioned_at: __, ...rest } = record;
    const where = placed(choice);
    // What failed on the hosts tried before, then what this routing passed over.
    const routing = [
      ...failures,
      ...(where.routing ?? []).filter((r) => !failures.some((f) => f.host === r.host)),
    ];
    const moved = withoutUndefined({ ...rest, ...where, routing }) as SandboxRecord;
    return { record: await save(moved), choice };
  });
}

function withoutUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
