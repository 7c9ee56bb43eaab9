import { ProvisionError } from '../../../errors.js';
import type { RemoteHost } from '../../../records/host-target.js';
import { quote } from '../../../ssh/quote.js';
import type { SshSession } from '../../../ssh/session.js';
import { formatBytes } from '../../../util/size.js';
import type { HostResources } from '../../contract.js';

/** Free disk under a host's base dir and its available memory: one cheap command on an open connection. */

/**
 * `df` of the base dir (or its nearest existing parent: it may not exist yet) and MemAvailable, as
 * two numbers of KiB on two lines; an empty line for what the host cannot say.
 */
export function hostResourcesCommand(base: string): string {
  return [
    `d=${quote(base)}; while [ ! -e "$d" ]; do d=$(dirname -- "$d"); done`,
    `df -Pk -- "$d" 2>/dev/null | awk 'NR==2 {print $4}'`,
    `awk '/^MemAvailable:/ {print $2}' /proc/meminfo 2>/dev/null || true`,
  ].join('; ');
}

export function parseHostResources(output: string): HostResources {
  const [disk, memory] = output.split('\n').map((l) => l.trim());
  const kib = (text: string | undefined) => (text && /^\d+$/.test(text) ? Number(text) * 1024 : undefined);
  const resources: HostResources = {};
  const freeDisk = kib(disk);
  const freeMemory = kib(memory);
  if (freeDisk !== undefined) resources.free_disk_bytes = freeDisk;
  if (freeMemory !== undefined) resources.free_memory_bytes = freeMemory;
  return resources;
}

export async function probeResources(session: SshSession, base: string): Promise<HostResources> {
  return parseHostResources(
    await session.run(hostResourcesCommand(base), { what: 'probing free disk and memory' }),
  );
}

/**
 * A create's first check on a host with floors (`min_free_disk`, `min_free_memory`): below one, the
 * host is unfit (host-level: a pool tries its next host). Without floors, nothing is asked.
 */
export async function checkFloors(session: SshSession, host: RemoteHost, base: string): Promise<void> {
  if (host.min_free_disk === undefined && host.min_free_memory === undefined) return;
  const found = await probeResources(session, base);
  const below = (what: string, free: number | undefined, floor: number | undefined, setting: string) => {
    if (floor === undefined || free === undefined || free >= floor) return;
    throw new ProvisionError(
      `host ${host.name} has ${formatBytes(free)} ${what} (its ${setting} is ${formatBytes(floor)})`,
      {
        host: host.name,
        // Read by routing/host-failures.ts: the host, not the stack, is at fault.
        host_level: `below its ${setting}`,
      },
    );
  };
  below('free under its base dir', found.free_disk_bytes, host.min_free_disk, 'min_free_disk');
  below('of memory available', found.free_memory_bytes, host.min_free_memory, 'min_free_memory');
}
