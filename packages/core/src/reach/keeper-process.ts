import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Keeper } from '../records/sandbox.js';

/**
 * The detached keeper of a sandbox (its port forwards): told apart from any other process that might
 * have its pid since, by its command line, which names the sandbox and says `keeper`.
 */

/** The argv marker every keeper carries, with the sandbox id after it. */
export const KEEPER_MARK = '--keeper';

/** True when `keeper` runs on this machine and is still that keeper of `sandboxId`. */
export function keeperAlive(keeper: Keeper, sandboxId: string): boolean {
  if (keeper.machine !== hostname()) return false;
  try {
    const argv = readFileSync(`/proc/${keeper.pid}/cmdline`, 'utf8').split('\0');
    return argv.includes(KEEPER_MARK) && argv.includes(sandboxId);
  } catch {
    return false;
  }
}

/** Stops the keeper if it is alive here (SIGTERM, then SIGKILL after 3 s); true if it was. */
export async function stopKeeper(keeper: Keeper | undefined, sandboxId: string): Promise<boolean> {
  if (!keeper || !keeperAlive(keeper, sandboxId)) return false;
  try {
    process.kill(keeper.pid, 'SIGTERM');
  } catch {
    return false;
  }
  for (let i = 0; i < 60 && keeperAlive(keeper, sandboxId); i++) await sleep(50);
  if (keeperAlive(keeper, sandboxId)) {
    try {
      process.kill(keeper.pid, 'SIGKILL');
    } catch {
      // Gone meanwhile.
    }
  }
  return true;
}

/** What a keeper announces on its first stdout line once its listeners are open. */
export interface KeeperAnnouncement {
  pid: number;
  urls: Record<string, string>;
}

const ANNOUNCE = 'sandboxer-keeper ';

/** Written by the keeper itself; the prefix tells its line from anything else on its stdout. */
export function announceKeeper(urls: Record<string, string>): void {
  process.stdout.write(`${ANNOUNCE}${JSON.stringify({ pid: process.pid, urls })}\n`);
}

export interface SpawnKeeperOptions {
  /** Where the keeper's stderr goes (opened 0600, appended to). */
  logFile: string;
  /** Written to its stdin, then closed (settings that must not show on a command line). */
  input?: string;
  /** Called as soon as the process exists, before it has announced anything. */
  onSpawn?: (pid: number) => void;
}

/**
 * Starts `node <argv>` detached (its own session, so the caller's end does not take it along),
 * waits for its announcement and leaves it running. Fails with the log's path if it exits first.
 */
export async function spawnKeeper(argv: string[], options: SpawnKeeperOptions): Promise<KeeperAnnouncement> {
  const log = openSync(options.logFile, 'a', 0o600);
  // A forwarder's garbage is small and short-lived: a 1 MB young generation instead of V8's
  // default keeps its memory ~10 MB lower under load (see `pnpm bench`, forwarder).
  const child = spawn(process.execPath, ['--max-semi-space-size=1', ...argv], {
    detached: true,
    stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', log],
  });
  closeSync(log);
  if (child.pid !== undefined) options.onSpawn?.(child.pid);
  child.stdin?.end(options.input);
  try {
    const line = await new Promise<string>((resolve, reject) => {
      let text = '';
      child.stdout?.on('data', (chunk: Buffer) => {
        text += chunk.toString();
        const found = text.split('\n').find((l, i, all) => i < all.length - 1 && l.startsWith(ANNOUNCE));
        if (found) resolve(found.slice(ANNOUNCE.length));
      });
      child.once('error', reject);
      child.once('exit', (code, signal) =>
        reject(
          new Error(
            `the port forwarder stopped at once (${signal ?? `exit ${code}`}): ${logTail(options.logFile)} (log: ${options.logFile})`,
          ),
        ),
      );
    });
    return JSON.parse(line) as KeeperAnnouncement;
  } finally {
    child.stdout?.destroy();
    child.removeAllListeners('exit');
    child.unref();
  }
}

/** The last lines of a keeper's log, for the error that says why it stopped. */
function logTail(file: string): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-3).join(' / ') || 'no output';
  } catch {
    return 'no output';
  }
}
