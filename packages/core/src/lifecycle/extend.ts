import { InputError, StateConflictError } from '../errors.js';
import type { SandboxRecord } from '../records/sandbox.js';
import { getRecord } from '../state/lookup.js';
import { formatDuration } from '../util/duration.js';
import { parseSandboxId } from '../util/ids.js';
import { HOLD_GRACE_MS, holdOf, lockKey, minimalHandle } from './keys.js';
import { parseTtl } from './plan.js';
import { type LifecycleDeps, saveRecord } from './types.js';

/**
 * Pushes a live sandbox's expiry out to `ttl` from now. Its whole life may not exceed the profile's
 * `max_ttl`; on a metered backend the hold is swapped for one covering the longer life, or the
 * extension is refused with INSUFFICIENT_CREDITS and nothing changes.
 */
export async function extendSandbox(
  deps: LifecycleDeps,
  idText: string,
  ttl: string | number,
): Promise<SandboxRecord> {
  const id = parseSandboxId(idText);
  return deps.store.withLock(lockKey(id), async () => {
    const record = await getRecord(deps.store, id);
    if (record.state !== 'ready' && record.state !== 'provisioning') {
      throw new StateConflictError(`sandbox ${id} is ${record.state}: only a live sandbox can be extended`, {
        sandbox: id,
      });
    }
    const profile = (await deps.catalog()).profile(record.profile);
    const expiresAt = new Date(deps.now().getTime() + parseTtl(ttl) * 1000);
    const lifeSeconds = Math.ceil((expiresAt.getTime() - Date.parse(record.created_at)) / 1000);
    if (profile.max_ttl !== undefined && lifeSeconds > profile.max_ttl) {
      throw new InputError(
        `ttl: the sandbox would live ${formatDuration(lifeSeconds)} in all, longer than ${profile.id}'s max_ttl of ${formatDuration(profile.max_ttl)}`,
        { field: 'ttl', sandbox: id, max_ttl: profile.max_ttl },
      );
    }
    let updated: SandboxRecord = { ...record, expires_at: expiresAt.toISOString(), ttl_seconds: lifeSeconds };
    const extension = await deps.extension(record.extension);
    // The host-side switch first: if the host no longer has it, the sandbox is already gone there.
    if (extension.reschedule && (record.handle || record.target)) {
      const moved = await extension.reschedule(record.handle ?? minimalHandle(record), expiresAt);
      if (!moved) {
        throw new StateConflictError(
          `sandbox ${id} already expired on ${record.host} (its host-side switch tore it down); gc settles its record`,
          { sandbox: id },
        );
      }
    }
    const held = holdOf(record);
    const quote = held ? extension.estimateCost?.(profile, lifeSeconds) : undefined;
    if (held && quote) {
      const hold = await deps.ledger.replaceHold(
        held,
        quote.credits,
        new Date(expiresAt.getTime() + HOLD_GRACE_MS),
        (b) =>
          `account "${b.account}" cannot afford extending sandbox ${id} to ${formatDuration(lifeSeconds)}: estimate ${quote.credits} credits, available ${b.available} plus its current hold`,
      );
      updated = { ...updated, hold: hold.id, estimate: quote };
    }
    return saveRecord(deps, updated);
  });
}
