import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';

/**
 * Running host-side shell for real: `sh -c` with the command as one argv element (never re-quoted
 * through another shell, which would mangle the sleeper script's newlines), and a look at /proc to
 * tell whether a detached sleeper and its process group are still alive.
 */

export const hasProc = existsSync('/proc/self/stat');

/** Runs `cmd` in /bin/sh, as the SSH session would on the host; fails fast instead of hanging. */
export function sh(cmd: string, cwd?: string): { stdout: string; stderr: string; status: number } {
  const result = spawnSync('sh', ['-c', cmd], { cwd, encoding: 'utf8', timeout: 10_000 });
  if (result.error) throw result.error;
  return { stdout: result.stdout, stderr: result.stderr, status: result.status ?? -1 };
}

export interface ProcStat {
  state: string;
  ppid: number;
  pgrp: number;
  session: number;
}

/** Fields of /proc/<pid>/stat after the command name (which may itself hold spaces or parentheses). */
export function procStat(pid: number): ProcStat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  const [state = '', ppid, pgrp, session] = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return { state, ppid: Number(ppid), pgrp: Number(pgrp), session: Number(session) };
}

/**
 * The live members of process group `pgid`. Zombies do not count: a detached sleeper's parent is
 * whatever reaps orphans here (in a container PID 1 may never reap them).
 */
export function liveGroup(pgid: number): number[] {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .map(Number)
    .filter((pid) => {
      const stat = procStat(pid);
      return stat !== undefined && stat.pgrp === pgid && stat.state !== 'Z';
    });
}

/** The argv of a process, or [] once it is gone. */
export function cmdline(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').slice(0, -1);
  } catch {
    return [];
  }
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `condition` every 50 ms for at most `ms`; true as soon as it holds. */
export async function waitFor(condition: () => boolean, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (condition()) return true;
    await sleep(50);
  }
  return condition();
}

/** Waits until the wall clock reaches `epochMs`. */
export async function until(epochMs: number): Promise<void> {
  const left = epochMs - Date.now();
  if (left > 0) await sleep(left);
}
