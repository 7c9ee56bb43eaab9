import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { z } from 'zod';

/**
 * Who holds a file lock: this machine's boot, the process and when it started. A lock whose holder
 * is a process of this boot that is gone (or whose pid now belongs to a newer process) is abandoned
 * at once instead of after the lock's staleness time: a SIGKILLed create no longer blocks `gc` or a
 * destroy for ~10 s. A holder from another boot or machine is left to the staleness rule.
 */

const holderSchema = z.object({
  pid: z.number().int().positive(),
  boot_id: z.string(),
  /** The process's start time in clock ticks since boot (/proc/<pid>/stat field 22). */
  start: z.string(),
});
export type LockHolder = z.infer<typeof holderSchema>;

function bootId(): string | undefined {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return undefined;
  }
}

/** A process's start time (field 22 of /proc/<pid>/stat; the comm field may hold spaces). */
function startOf(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

/** This process as a lock holder, or undefined where /proc is not there (then only staleness applies). */
export function currentHolder(): LockHolder | undefined {
  const boot = bootId();
  const start = startOf(process.pid);
  return boot && start ? { pid: process.pid, boot_id: boot, start } : undefined;
}

export function writeHolder(path: string, holder: LockHolder | undefined): void {
  if (holder) writeFileSync(path, JSON.stringify(holder), { mode: 0o600 });
}

export function clearHolder(path: string): void {
  rmSync(path, { force: true });
}

/** True when the recorded holder is a process of this boot that no longer runs. */
export function holderIsDead(path: string): boolean {
  let holder: LockHolder;
  try {
    holder = holderSchema.parse(JSON.parse(readFileSync(path, 'utf8')));
  } catch {
    return false;
  }
  if (holder.boot_id !== bootId()) return false;
  return startOf(holder.pid) !== holder.start;
}
