// Runs one process and times it from outside: wall time, every stderr line with the time it arrived
// (ms since spawn; Node writes stderr to a pipe synchronously on Linux, so arrival ≈ when written),
// and optionally CPU and memory: the Node process's own (cpu-probe.mjs, `--import`ed) and the whole
// process tree's, children included (GNU time, when /usr/bin/time exists).
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const PROBE = pathToFileURL(join(import.meta.dirname, 'cpu-probe.mjs')).href;
export const GNU_TIME = existsSync('/usr/bin/time') ? '/usr/bin/time' : undefined;

/** Processes running now, each the leader of its own process group, with a promise of its exit. */
const running = new Map();
/** Set by interruptAll: no new process starts, except cleanup's (`afterInterrupt`). */
let interrupted = false;

/**
 * Sends SIGINT to every running process group (the CLI rolls a create back, the baseline's trap
 * takes its stack down) and waits for them to exit — at most `timeoutMs`, then SIGKILL.
 */
export async function interruptAll(timeoutMs = 120_000) {
  interrupted = true;
  const exits = [...running.values()];
  for (const pid of running.keys()) {
    try {
      process.kill(-pid, 'SIGINT');
    } catch {
      // Already gone.
    }
  }
  const timer = setTimeout(() => {
    for (const pid of running.keys()) {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
  }, timeoutMs);
  await Promise.all(exits);
  clearTimeout(timer);
}

/**
 * @typedef {object} TimedRun
 * @property {number} code
 * @property {string} stdout
 * @property {string} stderr
 * @property {number} ms wall time, spawn to exit
 * @property {{ t: number, text: string }[]} lines stderr lines with arrival time (ms)
 * @property {{ cpu_ms: number, max_rss_mb: number } | undefined} self the Node process (probe)
 * @property {{ cpu_ms: number, max_rss_mb: number } | undefined} tree the process tree (GNU time)
 */

/**
 * @param {string} command
 * @param {string[]} args
 * @param {{ env?: NodeJS.ProcessEnv, cwd?: string, probe?: boolean, tree?: boolean, timeoutMs?: number,
 *   afterInterrupt?: boolean }} [options]
 *   probe: `command` is node and gets cpu-probe.mjs preloaded; tree: wrap in GNU time;
 *   afterInterrupt: start even after interruptAll (cleanup), which otherwise makes this reject.
 * @returns {Promise<TimedRun>}
 */
export function runTimed(command, args, options = {}) {
  if (interrupted && !options.afterInterrupt) return Promise.reject(new Error('interrupted'));
  const scratch = mkdtempSync(join(tmpdir(), 'sbx-bench-run-'));
  const probeFile = join(scratch, 'probe.json');
  const timeFile = join(scratch, 'time.txt');
  let argv = options.probe ? ['--import', PROBE, ...args] : args;
  let file = command;
  if (options.tree && GNU_TIME) {
    argv = ['-f', '%e %U %S %M', '-o', timeFile, command, ...argv];
    file = GNU_TIME;
  }
  const env = { ...(options.env ?? process.env), ...(options.probe ? { BENCH_CPU_OUT: probeFile } : {}) };
  return new Promise((resolve, reject) => {
    const started = performance.now();
    // Its own process group, so an interrupted benchmark can stop the whole tree (GNU time ignores
    // SIGINT, the CLI under it does not) and wait for its rollback: see interruptAll.
    const child = spawn(file, argv, {
      env,
      cwd: options.cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let exited;
    running.set(
      child.pid,
      new Promise((done) => {
        exited = done;
      }),
    );
    let stdout = '';
    let stderr = '';
    let partial = '';
    /** @type {{ t: number, text: string }[]} */
    const lines = [];
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      const t = performance.now() - started;
      stderr += d;
      const parts = (partial + d).split('\n');
      partial = parts.pop() ?? '';
      for (const text of parts) lines.push({ t, text });
    });
    const timer =
      options.timeoutMs &&
      setTimeout(() => {
        child.kill('SIGTERM');
      }, options.timeoutMs);
    child.once('error', (error) => {
      running.delete(child.pid);
      exited();
      reject(error);
    });
    child.once('close', (code, signal) => {
      running.delete(child.pid);
      exited();
      const ms = performance.now() - started;
      if (timer) clearTimeout(timer);
      if (partial) lines.push({ t: ms, text: partial });
      const self = readJson(probeFile);
      const tree = readTime(timeFile);
      rmSync(scratch, { recursive: true, force: true });
      resolve({
        code: code ?? (signal ? 128 : -1),
        stdout,
        stderr,
        ms,
        lines,
        self: self && {
          cpu_ms: (self.user_us + self.system_us) / 1000,
          max_rss_mb: self.max_rss_kb / 1024,
        },
        tree,
      });
    });
  });
}

function readJson(file) {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    return undefined;
  }
}

/** GNU time's `%e %U %S %M` (the last line: earlier ones may be "Command exited with …"). */
function readTime(file) {
  try {
    const last = readFileSync(file, 'utf8').trim().split('\n').pop() ?? '';
    const [, user, sys, rss] = last.split(' ').map(Number);
    if ([user, sys, rss].some((n) => Number.isNaN(n))) return undefined;
    return { cpu_ms: (user + sys) * 1000, max_rss_mb: rss / 1024 };
  } catch {
    return undefined;
  }
}
