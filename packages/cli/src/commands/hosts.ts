import { formatBytes, type HostStatus } from '@sand-boxer/core';
import { type ContextOptions, openService } from '../context.js';
import { formatTable, type OutputOptions, printJson, printLine, relativeTime } from '../output.js';

type Options = OutputOptions & ContextOptions;

const fraction = (live: number, capacity: number | null) => `${live}/${capacity ?? '-'}`;

/** `sandboxer hosts`: every host and pool with its load, health and last probe. */
export async function hosts(options: Options): Promise<void> {
  const overview = await (await openService(options)).hosts.list();
  if (options.json) return printJson(overview);
  if (overview.hosts.length === 0)
    return printLine('no hosts file (or no hosts in it): see extensions/README.md#hosts');
  const now = Date.now();
  printLine(
    formatTable(
      ['HOST', 'ADDRESS', 'POOLS', 'LIVE', 'HEALTH', 'FREE DISK', 'FREE MEMORY', 'PROBED', 'LAST ERROR'],
      overview.hosts.map((h) => [
        h.host,
        h.address,
        h.pools.join(',') || '-',
        fraction(h.live, h.capacity),
        h.health === 'resting' && h.resting_until
          ? `resting (${relativeTime(h.resting_until, now)})`
          : h.health,
        h.probe?.free_disk_bytes === undefined ? '-' : formatBytes(h.probe.free_disk_bytes),
        h.probe?.free_memory_bytes === undefined ? '-' : formatBytes(h.probe.free_memory_bytes),
        h.probe ? relativeTime(h.probe.at, now) : '-',
        h.last_error ? `${relativeTime(h.last_error.at, now)}: ${h.last_error.message}` : '-',
      ]),
    ),
  );
  if (overview.pools.length === 0) return;
  printLine();
  printLine(
    formatTable(
      ['POOL', 'PLACEMENT', 'HOSTS', 'LIVE'],
      overview.pools.map((p) => [p.pool, p.placement, p.hosts.join(','), fraction(p.live, p.capacity)]),
    ),
  );
}

/** `sandboxer hosts probe [host|pool]`: free disk and memory now; a host that answers is healthy again. */
export async function probe(name: string | undefined, options: Options): Promise<void> {
  const statuses = await (await openService(options)).hosts.probe(name);
  if (options.json) return printJson(statuses);
  for (const status of statuses) printLine(describeProbe(status));
  if (statuses.some((s) => s.probe?.error)) process.exitCode = 5;
}

function describeProbe(status: HostStatus): string {
  const probe = status.probe;
  if (!probe || probe.error)
    return `${status.host}: unreachable: ${probe?.error ?? 'no answer'} (resting until ${status.unhealthy_until})`;
  const disk =
    probe.free_disk_bytes === undefined
      ? 'free disk unknown'
      : `${formatBytes(probe.free_disk_bytes)} free disk`;
  const memory =
    probe.free_memory_bytes === undefined
      ? 'memory unknown'
      : `${formatBytes(probe.free_memory_bytes)} memory available`;
  return `${status.host}: ${disk}, ${memory}${status.drained ? ' (drained)' : ''}`;
}

/** `sandboxer hosts drain|undrain <host>`. */
export async function drain(host: string, drained: boolean, options: Options): Promise<void> {
  const service = (await openService(options)).hosts;
  const status = await (drained ? service.drain(host) : service.undrain(host));
  if (options.json) return printJson(status);
  printLine(
    drained
      ? `${host} is drained: no new sandboxes go there; those there live on (undrain it with: sandboxer hosts undrain ${host})`
      : `${host} takes new sandboxes again`,
  );
}
