import { lstatSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Private scratch directories on this machine (0700), each holding what one rsync run needs — its
 * filter rules and the bridge to the open SSH connection (rsync-bridge.ts) and its socket — for as
 * long as that run. A directory's name carries the pid that made it, so one left by a killed process
 * (its bridge normally removes it) is recognised and removed by the next run (or by gc). Before the
 * bridge they held a copy of the key for rsync's own ssh; gc still removes such leftovers.
 */

/** Scratch directories that exist right now in this process. */
const scratchDirs = new Set<string>();
let exitHook = false;

/** Makes a private scratch directory (0700) after sweeping those of dead processes. */
export function makeScratchDir(): string {
  sweepStaleScratch();
  const dir = mkdtempSync(join(scratchParent() ?? tempRoot(), `sandboxer-sync-${process.pid}-`));
  scratchDirs.add(dir);
  if (!exitHook) {
    // Registered on first use, not on import: a process that never syncs keeps no hook.
    exitHook = true;
    process.on('exit', removeAllScratchDirs);
  }
  return dir;
}

export function removeScratchDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  scratchDirs.delete(dir);
}

/** Removes every scratch directory of this process at once, synchronously (exit, cancellation). */
export function removeAllScratchDirs(): void {
  for (const dir of scratchDirs) rmSync(dir, { recursive: true, force: true });
  scratchDirs.clear();
}

/** RUNNER_TEMP (emptied after every job) rather than a shared /tmp. */
function tempRoot(): string {
  return process.env.RUNNER_TEMP || tmpdir();
}

/**
 * Where sync scratch directories go: this user's own `sandboxer-scratch-<uid>/` under the temp root,
 * so that sweeping them reads a directory of a few entries, not a long-lived /tmp (33,000 entries on
 * the testbed made every rsync spend 0.27 s of CPU listing it). Not used unless it is a real
 * directory of this user, mode 0700 (in a shared /tmp someone else could have made it first): the
 * scratch directories then go into the temp root itself, as before.
 */
function scratchParent(): string | undefined {
  const dir = join(tempRoot(), `sandboxer-scratch-${process.getuid?.() ?? 'user'}`);
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const stat = lstatSync(dir);
    const own = stat.isDirectory() && (!process.getuid || stat.uid === process.getuid());
    return own && (stat.mode & 0o077) === 0 ? dir : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Removes sync scratch directories whose process is gone (a create killed with SIGKILL mid-rsync
 * cannot clean up after itself): the name carries the pid that made it. Run before every rsync and
 * by gc (which also looks in the temp root itself, where versions before the scratch parent put
 * them), so a directory outlives its process only until the next sand-boxer run on this machine.
 */
export function sweepStaleScratch(
  parent = scratchParent() ?? tempRoot(),
  options: { legacy?: boolean } = {},
): string[] {
  const removed = options.legacy && parent !== tempRoot() ? sweepStaleScratch(tempRoot()) : [];
  let names: string[];
  try {
    names = readdirSync(parent);
  } catch {
    return removed;
  }
  for (const name of names) {
    const pid = /^sandboxer-sync-(\d+)-/.exec(name)?.[1];
    if (!pid || isAlive(Number(pid))) continue;
    rmSync(join(parent, name), { recursive: true, force: true });
    removed.push(join(parent, name));
  }
  return removed;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
