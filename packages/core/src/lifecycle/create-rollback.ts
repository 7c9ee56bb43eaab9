import { InterruptedError, messageOf, ProvisionError, SandboxerError, SshError } from '../errors.js';
import type { ProgressFn, SandboxExtension } from '../extensions/contract.js';
import type { CleanupReport, SandboxHandle } from '../records/handle.js';
import type { SandboxRecord } from '../records/sandbox.js';
import { errorOf, holdOf, minimalHandle } from './keys.js';
import { type LifecycleDeps, saveRecord } from './types.js';

/** Undoing a create that failed: on one host before failing over, or for good. */

/** Removes what a failed attempt made on its host; a problem is reported, never thrown. */
export async function undoOnHost(
  record: SandboxRecord,
  extension: SandboxExtension,
  handle: SandboxHandle | undefined,
  cause: unknown,
  progress: ProgressFn | undefined,
): Promise<CleanupReport> {
  try {
    return cause instanceof SshError && cause.phase === 'connect' && handle === undefined
      ? { removed: [], leftovers: [], already_gone: true } // never reached the host: nothing to undo
      : await extension.teardown(handle ?? minimalHandle(record), { progress });
  } catch (error) {
    return { removed: [], leftovers: [`rollback failed: ${messageOf(error)}`], already_gone: false };
  }
}

/** Undo a half-made sandbox for good; a rollback problem is recorded, never allowed to hide the first error. */
export async function rollback(
  deps: LifecycleDeps,
  record: SandboxRecord,
  extension: SandboxExtension,
  handle: SandboxHandle | undefined,
  step: string,
  cause: unknown,
  progress: ProgressFn | undefined,
): Promise<SandboxRecord> {
  progress?.(`sandbox ${record.id}: ${step} failed, rolling back`);
  const cleanup = await undoOnHost(record, extension, handle, cause, progress);
  // A sandbox that never became ready is not charged: its hold goes back in full.
  const hold = holdOf(record);
  if (hold) await deps.ledger.release(hold, `${step} failed`);
  return saveRecord(deps, {
    ...record,
    state: 'failed',
    error: errorOf(step, cause),
    cleanup,
    destroyed_at: deps.now().toISOString(),
    owner_pid: undefined,
  });
}

/** The error a failed create reports, once it is rolled back. */
export function failure(failed: SandboxRecord, step: string, cause: unknown): Error {
  const id = failed.id;
  if (cause instanceof InterruptedError) {
    return new InterruptedError(`sandbox ${id}: interrupted during ${step}; rolled back`, {
      sandbox: id,
      step,
    });
  }
  const undone = failed.cleanup?.leftovers.length
    ? `rollback incomplete: ${failed.cleanup.leftovers.join('; ')}; gc removes the rest once the host answers`
    : 'rolled back';
  return new ProvisionError(
    `sandbox ${id}: ${step} failed: ${messageOf(cause)} (${undone}; its record says what happened)`,
    { sandbox: id, step, ...(cause instanceof SandboxerError ? { cause: cause.toJSON() } : {}) },
    { cause },
  );
}
