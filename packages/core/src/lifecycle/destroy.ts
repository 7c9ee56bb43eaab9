import { messageOf, TeardownError } from '../errors.js';
import type { SandboxExtension } from '../extensions/contract.js';
import { stopKeeper } from '../reach/keeper-process.js';
import type { CleanupReport } from '../records/handle.js';
import { lastRenewal, leaseLapsed } from '../records/lease.js';
import type { MeterActual } from '../records/metering.js';
import type { SandboxRecord } from '../records/sandbox.js';
import { getRecord } from '../state/lookup.js';
import { parseSandboxId } from '../util/ids.js';
import { errorOf, HOLD_GRACE_MS, handleOf, holdOf, lockKey, throwIfAborted } from './keys.js';
import { type DestroySteps, type LifecycleDeps, saveRecord } from './types.js';

/**
 * Tears the sandbox down and marks it `destroyed`. Idempotent: destroying a destroyed (or rolled
 * back) sandbox returns its record unchanged. If teardown leaves something behind the sandbox stays
 * `destroying` with a report of the leftovers, and destroy can be retried.
 */
export async function destroySandbox(
  deps: LifecycleDeps,
  idText: string,
  steps: DestroySteps,
): Promise<SandboxRecord> {
  const { progress, signal } = steps;
  const id = parseSandboxId(idText);
  const lockOptions = steps.lockWaitMs === undefined ? {} : { waitMs: steps.lockWaitMs };
  return deps.store.withLock(
    lockKey(id),
    async () => {
      let record = await getRecord(deps.store, id);
      // Decided on the record as it is under the lock (gc: it may have become ready meanwhile).
      if (steps.onlyIf && !steps.onlyIf(record)) return record;
      if (record.state === 'destroyed') return record;
      if (record.state === 'failed' && !record.cleanup?.leftovers.length) return record;
      // Holding the lock means no live process is creating or destroying it: a `provisioning` record
      // here belongs to a creator that died, and tearing down is exactly what it needs.
      const extension = await deps.extension(record.extension);
      record = await saveRecord(deps, { ...record, state: 'destroying', owner_pid: process.pid });
      // Its keeper (port forwards) goes first, so nothing holds a connection to what is torn down.
      if (await stopKeeper(record.keeper, id))
        progress?.(`sandbox ${id}: stopped its keeper (pid ${record.keeper?.pid})`);
      progress?.(`sandbox ${id}: tearing down on ${record.host}`);
      let cleanup: CleanupReport;
      try {
        throwIfAborted(signal);
        cleanup = await extension.teardown(handleOf(record), { progress, signal });
      } catch (error) {
        await saveRecord(deps, { ...record, error: errorOf('teardown', error), owner_pid: undefined });
        throw new TeardownError(
          `sandbox ${id}: teardown failed: ${messageOf(error)} (it stays "destroying"; destroy it again)`,
          { sandbox: id },
          { cause: error },
        );
      }
      if (cleanup.leftovers.length > 0) {
        await saveRecord(deps, { ...record, cleanup, owner_pid: undefined });
        throw new TeardownError(
          `sandbox ${id}: teardown left ${cleanup.leftovers.join(', ')}; remove by hand or destroy it again`,
          { sandbox: id, leftovers: cleanup.leftovers },
        );
      }
      const destroyedAt = deps.now();
      const cost = await settle(deps, record, meter(extension, record, destroyedAt), progress);
      record = await saveRecord(deps, {
        ...record,
        state: 'destroyed',
        cleanup,
        destroyed_at: destroyedAt.toISOString(),
        ...(cost ? { cost } : {}),
        owner_pid: undefined,
      });
      progress?.(`sandbox ${id}: destroyed${cleanup.already_gone ? ' (nothing was left)' : ''}`);
      return record;
    },
    lockOptions,
  );
}

/** What the sandbox cost; only one that became ready is charged (not one whose creator died). */
function meter(
  extension: SandboxExtension,
  record: SandboxRecord,
  destroyedAt: Date,
): MeterActual | undefined {
  if (!record.ready_at) return undefined;
  // Never billed past what its hold covered (expiry plus grace): a sandbox that outlived that is
  // ours to have removed (gc, the host-side switch), not the user's to pay for. Nor past its last
  // renewal once its lease lapsed: from then on nobody was using it.
  let end = Math.min(destroyedAt.getTime(), Date.parse(record.expires_at) + HOLD_GRACE_MS);
  if (leaseLapsed({ ...record, state: 'ready' }, destroyedAt)) {
    end = Math.min(end, lastRenewal(record)?.getTime() ?? end);
  }
  return extension.meterActual?.(handleOf(record), {
    createdAt: new Date(record.created_at),
    destroyedAt: new Date(end),
  });
}

/**
 * Debits the cost (releasing the hold), or gives the hold back when nothing is charged. Returns what
 * was charged: the ledger never debits more than the hold or the balance (the rest is `waived`).
 */
async function settle(
  deps: LifecycleDeps,
  record: SandboxRecord,
  cost: MeterActual | undefined,
  progress: DestroySteps['progress'],
): Promise<MeterActual | undefined> {
  if (cost && record.account) {
    // Idempotent per sandbox: a retried destroy finds the debit already there and charges nothing.
    const debit = await deps.ledger.settle(
      record.account,
      record.id,
      cost.credits,
      record.hold,
      cost.breakdown,
    );
    progress?.(`sandbox ${record.id}: debited ${debit.credits} credits from "${record.account}"`);
    return { ...cost, credits: debit.credits, breakdown: debit.breakdown ?? cost.breakdown };
  }
  const hold = holdOf(record);
  if (hold) await deps.ledger.release(hold, 'destroyed');
  return cost;
}
