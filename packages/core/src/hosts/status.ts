import type { HostStatus } from '../records/host-status.js';
import type { StateStore } from '../state/store.js';

/** Reading and changing what the state store remembers about hosts (drained, resting, probed). */

/** Changes one host's status under its lock, from what is there (or a blank one). */
export function updateHostStatus(
  store: StateStore,
  host: string,
  now: Date,
  change: (current: HostStatus) => HostStatus,
): Promise<HostStatus> {
  return store.withLock(`host-${host}`, async () => {
    const current = (await store.getHostStatus(host)) ?? {
      host,
      drained: false,
      updated_at: now.toISOString(),
    };
    const next = { ...change(current), host, updated_at: now.toISOString() };
    await store.putHostStatus(next);
    return next;
  });
}

/** True while a host rests after a failed create (its cool-down has not run out). */
export function isResting(status: HostStatus | undefined, now: Date): boolean {
  return status?.unhealthy_until !== undefined && Date.parse(status.unhealthy_until) > now.getTime();
}

/** A host failed a create for a host-level reason: it rests for `cooldownSeconds`. */
export function markUnhealthy(
  store: StateStore,
  host: string,
  reason: string,
  cooldownSeconds: number,
  now: Date,
): Promise<HostStatus> {
  return updateHostStatus(store, host, now, (current) => ({
    ...current,
    unhealthy_until: new Date(now.getTime() + cooldownSeconds * 1000).toISOString(),
    last_error: { at: now.toISOString(), message: reason },
  }));
}

export function setDrained(
  store: StateStore,
  host: string,
  drained: boolean,
  now: Date,
): Promise<HostStatus> {
  return updateHostStatus(store, host, now, (current) => {
    const { drained_at: _, ...rest } = current;
    return drained ? { ...rest, drained: true, drained_at: now.toISOString() } : { ...rest, drained: false };
  });
}
