import type { HostPool } from '../hosts/resolve.js';
import { isResting } from '../hosts/status.js';
import type { HostStatus } from '../records/host-status.js';
import type { RemoteHost } from '../records/host-target.js';
import type { SandboxRecord } from '../records/sandbox.js';
import { formatDuration } from '../util/duration.js';

/**
 * Placement within a pool: the order its hosts are tried in, and why one is skipped. Counting uses
 * the live records read under the route lock, so concurrent creates never overfill a host.
 */

const liveOn = (live: SandboxRecord[], host: string) => live.filter((r) => r.host === host).length;

/**
 * The pool's hosts, best first. least-loaded: lowest share of capacity in use (without a capacity,
 * of an assumed 10); spread: fewest live sandboxes; pack: the fullest that still has room. Ties go
 * by the order of the hosts file.
 */
export function placementOrder(pool: HostPool, live: SandboxRecord[]): RemoteHost[] {
  const load = (host: RemoteHost) => liveOn(live, host.name) / (host.capacity ?? 10);
  const count = (host: RemoteHost) => liveOn(live, host.name);
  const keyed = pool.members.map((host, order) => ({ host, order }));
  const by = {
    'least-loaded': (a: RemoteHost, b: RemoteHost) => load(a) - load(b),
    spread: (a: RemoteHost, b: RemoteHost) => count(a) - count(b),
    pack: (a: RemoteHost, b: RemoteHost) => load(b) - load(a),
  }[pool.placement];
  return keyed.sort((a, b) => by(a.host, b.host) || a.order - b.order).map((k) => k.host);
}

/**
 * Why a host takes no new sandbox now, or undefined: drained, full, or (in a pool, where another
 * host can take it) resting after a failure.
 */
export function hostRefusal(
  host: RemoteHost,
  live: SandboxRecord[],
  status: HostStatus | undefined,
  now: Date,
  skipResting: boolean,
): string | undefined {
  if (status?.drained) return `host ${host.name} is drained (since ${status.drained_at ?? 'a while'})`;
  if (skipResting && isResting(status, now)) {
    const left = Math.ceil((Date.parse(status?.unhealthy_until as string) - now.getTime()) / 1000);
    return `host ${host.name} is resting after a failure (${status?.last_error?.message ?? 'unknown'}); tried again in ${formatDuration(Math.max(1, left))}`;
  }
  if (host.capacity !== undefined) {
    const used = liveOn(live, host.name);
    if (used >= host.capacity) return `host ${host.name} is full (${used}/${host.capacity} live sandboxes)`;
  }
  return undefined;
}
