import { InputError, messageOf, NotFoundError } from '../errors.js';
import type { HostResources } from '../extensions/contract.js';
import type { HostStatus } from '../records/host-status.js';
import type { RemoteHost } from '../records/host-target.js';
import { LIVE_STATES, type SandboxRecord } from '../records/sandbox.js';
import type { StateStore } from '../state/store.js';
import type { HostDirectory } from './directory.js';
import { isResting, setDrained, updateHostStatus } from './status.js';

/** Every host and pool as `sandboxer hosts` and `GET /v1/hosts` show them. */
export interface HostView {
  host: string;
  /** `user@address:port`. */
  address: string;
  pools: string[];
  live: number;
  capacity: number | null;
  health: 'healthy' | 'resting' | 'drained';
  drained_at?: string;
  resting_until?: string;
  last_error?: HostStatus['last_error'];
  probe?: HostStatus['probe'];
}

export interface PoolView {
  pool: string;
  placement: string;
  hosts: string[];
  live: number;
  capacity: number | null;
}

export interface HostsOverview {
  hosts: HostView[];
  pools: PoolView[];
}

export interface HostsDeps {
  hosts: HostDirectory;
  store: StateStore;
  now: () => Date;
  /** Asks a host how much room it has (an SSH extension's probeHost). */
  probe: (host: RemoteHost) => Promise<HostResources>;
}

async function allHosts(directory: HostDirectory): Promise<RemoteHost[]> {
  const hosts: RemoteHost[] = [];
  for (const alias of await directory.aliases()) {
    const host = (await directory.resolve(alias)) as RemoteHost | undefined;
    if (host?.ssh) hosts.push(host);
  }
  return hosts;
}

export async function hostsOverview(deps: HostsDeps): Promise<HostsOverview> {
  const now = deps.now();
  const [hosts, statuses, records] = await Promise.all([
    allHosts(deps.hosts),
    deps.store.listHostStatuses(),
    deps.store.listSandboxes(),
  ]);
  const live = records.filter((r: SandboxRecord) => LIVE_STATES.has(r.state));
  const byHost = new Map(statuses.map((s) => [s.host, s]));
  const pools: PoolView[] = [];
  const memberOf = new Map<string, string[]>();
  for (const name of (await deps.hosts.pools?.()) ?? []) {
    const pool = await deps.hosts.pool?.(name);
    if (!pool) continue;
    const members = pool.members.map((m) => m.name);
    for (const m of members) memberOf.set(m, [...(memberOf.get(m) ?? []), name]);
    const capacities = pool.members.map((m) => m.capacity);
    pools.push({
      pool: name,
      placement: pool.placement,
      hosts: members,
      live: live.filter((r) => members.includes(r.host)).length,
      capacity: capacities.every((c) => c !== undefined)
        ? capacities.reduce<number>((a, c) => a + (c ?? 0), 0)
        : null,
    });
  }
  return {
    hosts: hosts.map((host) => {
      const status = byHost.get(host.name);
      const resting = isResting(status, now);
      return {
        host: host.name,
        address: `${host.ssh.user}@${host.ssh.address}:${host.ssh.port}`,
        pools: memberOf.get(host.name) ?? [],
        live: live.filter((r) => r.host === host.name).length,
        capacity: host.capacity ?? null,
        health: status?.drained ? 'drained' : resting ? 'resting' : 'healthy',
        ...(status?.drained_at ? { drained_at: status.drained_at } : {}),
        ...(resting && status?.unhealthy_until ? { resting_until: status.unhealthy_until } : {}),
        ...(status?.last_error ? { last_error: status.last_error } : {}),
        ...(status?.probe ? { probe: status.probe } : {}),
      };
    }),
    pools,
  };
}

/** The hosts a name stands for: an alias, a pool's hosts, or (none) every host. */
async function hostsNamed(directory: HostDirectory, name: string | undefined): Promise<RemoteHost[]> {
  if (name === undefined) return allHosts(directory);
  const pool = await directory.pool?.(name);
  if (pool) return pool.members;
  if (!(await directory.aliases()).includes(name)) {
    throw new NotFoundError(`no host or pool "${name}" in the hosts file`, { host: name });
  }
  return [(await directory.resolve(name)) as RemoteHost];
}

/**
 * Probes hosts (free disk, memory; reachable at all) and remembers what it found: a host that
 * answers is healthy again at once, one that does not rests like a host that failed a create.
 */
export async function probeHosts(
  deps: HostsDeps,
  name: string | undefined,
  cooldownSeconds = 60,
): Promise<HostStatus[]> {
  const hosts = await hostsNamed(deps.hosts, name);
  return Promise.all(
    hosts.map(async (host) => {
      const now = deps.now();
      try {
        const found = await deps.probe(host);
        return updateHostStatus(deps.store, host.name, now, (current) => {
          const { unhealthy_until: _, ...rest } = current;
          return { ...rest, probe: { at: now.toISOString(), ...found } };
        });
      } catch (error) {
        const message = messageOf(error);
        return updateHostStatus(deps.store, host.name, now, (current) => ({
          ...current,
          unhealthy_until: new Date(now.getTime() + cooldownSeconds * 1000).toISOString(),
          last_error: { at: now.toISOString(), message },
          probe: { at: now.toISOString(), error: message },
        }));
      }
    }),
  );
}

/** Drains (no new sandboxes; those there live on) or undrains one host of the hosts file. */
export async function drainHost(deps: HostsDeps, alias: string, drained: boolean): Promise<HostStatus> {
  if (!(await deps.hosts.aliases()).includes(alias)) {
    const pools = (await deps.hosts.pools?.()) ?? [];
    throw pools.includes(alias)
      ? new InputError(`host: "${alias}" is a pool: drain its hosts one by one`, { field: 'host' })
      : new NotFoundError(`no host "${alias}" in the hosts file`, { host: alias });
  }
  return setDrained(deps.store, alias, drained, deps.now());
}
