import type { SandboxRecord } from './sandbox.js';

/**
 * A sandbox's lease as its record knows it: renewed last at `lease_renewed_at` (or, before the first
 * renewal, when it became ready), and lapsed once that is `lease_seconds` ago. Where the backend keeps
 * the lease itself (the host-side switch), the host decides; this is what the store can tell.
 */

/** When the lease was last renewed, or undefined for a sandbox without a lease. */
export function lastRenewal(record: SandboxRecord): Date | undefined {
  if (record.lease_seconds === undefined) return undefined;
  return new Date(record.lease_renewed_at ?? record.ready_at ?? record.created_at);
}

/** When the lease lapses unless renewed before, or undefined for a sandbox without a lease. */
export function leaseDeadline(record: SandboxRecord): Date | undefined {
  const last = lastRenewal(record);
  if (last === undefined || record.lease_seconds === undefined) return undefined;
  return new Date(last.getTime() + record.lease_seconds * 1000);
}

/** Whether a ready sandbox's lease has lapsed by `now`. */
export function leaseLapsed(record: SandboxRecord, now: Date): boolean {
  const deadline = leaseDeadline(record);
  return record.state === 'ready' && deadline !== undefined && deadline.getTime() <= now.getTime();
}

/** Why a lapsed lease ends a sandbox, as gc, the reaper and reports say it. */
export function leaseLapse(record: SandboxRecord): string {
  return `lease lapsed (not renewed since ${lastRenewal(record)?.toISOString()}, lease ${record.lease_seconds}s)`;
}
