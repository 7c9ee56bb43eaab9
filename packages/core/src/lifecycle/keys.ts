import { hostname, userInfo } from 'node:os';
import { InterruptedError, messageOf, SandboxerError } from '../errors.js';
import { accountOf } from '../metering/accounts.js';
import type { HoldRef } from '../metering/ledger.js';
import type { SandboxHandle } from '../records/handle.js';
import type { SandboxRecord } from '../records/sandbox.js';

/** Small facts every lifecycle step shares. */

/** The lock every operation on one sandbox holds (create, destroy, extend, snapshot, restore). */
export function lockKey(id: string): string {
  return `sandbox-${id}`;
}

/** Held while routing counts live sandboxes and writes the first record, so capacities stay true. */
export const ROUTE_LOCK = 'route';

/** A hold outlives the sandbox's TTL by this much, so a sandbox destroyed a little late is still covered. */
export const HOLD_GRACE_MS = 10 * 60_000;

/** Enough for an extension to find and remove whatever a half-finished provision made. */
export function minimalHandle(record: SandboxRecord): SandboxHandle {
  return { sandbox_id: record.id, host: record.host, ...(record.target ? { target: record.target } : {}) };
}

/** The sandbox's ledger hold, if it has one (records from before accounts pay from the consumer's). */
export function holdOf(record: SandboxRecord): HoldRef | undefined {
  if (!record.hold) return undefined;
  return { id: record.hold, account: record.account ?? accountOf(record.consumer) };
}

/** The handle to work on: the stored one, else the minimal one. */
export function handleOf(record: SandboxRecord): SandboxHandle {
  return record.handle ?? minimalHandle(record);
}

/** The `error` a record keeps: the step that failed and the typed error's code. */
export function errorOf(step: string, error: unknown): NonNullable<SandboxRecord['error']> {
  const code = error instanceof SandboxerError ? error.code : 'PROVISION_FAILED';
  return { step, code, message: messageOf(error) };
}

export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new InterruptedError('interrupted');
}

/** Who a sandbox is for when the caller does not say: `user@machine`. */
export function defaultConsumer(): string {
  let user = 'unknown';
  try {
    user = userInfo().username;
  } catch {
    // No passwd entry (some containers): the host name alone still says where it came from.
  }
  return `${user}@${hostname()}`;
}
