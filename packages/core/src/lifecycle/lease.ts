import { InputError, StateConflictError } from '../errors.js';
import type { SandboxChannel } from '../extensions/contract.js';
import { leaseLapsed } from '../records/lease.js';
import { getRecord } from '../state/lookup.js';
import { parseSandboxId } from '../util/ids.js';
import { handleOf, lockKey } from './keys.js';
import { type LifecycleDeps, saveRecord } from './types.js';

/** How long a renewal waits for the sandbox's lock before leaving the record as it is. */
const RENEWAL_LOCK_WAIT_MS = 2000;

/**
 * Renews a ready sandbox's lease: where the backend keeps it (the host-side switch: over `channel`,
 * the keeper's own connection, when it can), then in the record, so `status` and the reaper see it.
 * False once the sandbox is gone where the lease is kept, or — for a lease only this store keeps
 * (saas-stub, metered backends) — once it has lapsed: the reaper ends it, billed to the last renewal.
 */
export async function renewLease(
  deps: LifecycleDeps,
  idText: string,
  channel?: SandboxChannel,
): Promise<boolean> {
  const id = parseSandboxId(idText);
  const record = await getRecord(deps.store, id);
  if (record.lease_seconds === undefined) {
    throw new InputError(`sandbox ${id} has no lease to renew (it was created without --lease)`, {
      field: 'lease',
    });
  }
  if (record.state !== 'ready') return false;
  const extension = await deps.extension(record.extension);
  if (channel?.renewLease) {
    if (!(await channel.renewLease())) return false;
  } else if (extension.renewLease) {
    if (!(await extension.renewLease(handleOf(record)))) return false;
  } else if (leaseLapsed(record, deps.now())) {
    return false;
  }
  return noteRenewal(deps, id);
}

/**
 * Writes the renewal into the record under the sandbox's lock, unless it stopped being ready
 * meanwhile (a destroy holds the lock: the renewal then leaves the record to it).
 */
async function noteRenewal(deps: LifecycleDeps, id: string): Promise<boolean> {
  try {
    return await deps.store.withLock(
      lockKey(id),
      async () => {
        const current = await getRecord(deps.store, id);
        if (current.state !== 'ready') return false;
        await saveRecord(deps, { ...current, lease_renewed_at: deps.now().toISOString() });
        return true;
      },
      { waitMs: RENEWAL_LOCK_WAIT_MS },
    );
  } catch (error) {
    // Busy with something else (an extend, a snapshot): the lease was renewed where it is kept.
    if (error instanceof StateConflictError) return true;
    throw error;
  }
}
