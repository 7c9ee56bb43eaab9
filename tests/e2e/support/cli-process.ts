import { type ChildProcess, spawn } from 'node:child_process';
import { recordOutput, recordSecrets, secretsOf } from './artifacts.js';
import { CLI, type CliRun } from './cli.js';

/** How a CLI run that a test may signal ended. */
export interface EndedRun extends CliRun {
  signal: NodeJS.Signals | null;
}

/** A `sandboxer` process a test watches line by line and may signal or kill half-way. */
export interface RunningCli {
  child: ChildProcess;
  pid: number;
  stderr: () => string;
  /** Resolves with the first stderr line (so far or to come) matching `pattern`; rejects if the process ends first. */
  line: (pattern: RegExp, timeoutMs?: number) => Promise<string>;
  /** Resolves with the n-th complete stderr line (1-based) once there is one. */
  lines: (n: number, timeoutMs?: number) => Promise<string>;
  done: Promise<EndedRun>;
}

export function startSandboxer(args: string[], env: Record<string, string>): RunningCli {
  recordSecrets(secretsOf(env));
  const child = spawn(process.execPath, [CLI, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  const watchers = new Set<() => void>();
  child.stdout?.on('data', (d) => {
    stdout += d;
  });
  child.stderr?.on('data', (d) => {
    stderr += d;
    for (const check of [...watchers]) check();
  });
  const done = new Promise<EndedRun>((resolve) =>
    child.on('close', (code, signal) => {
      recordOutput(`cli-${args[0] ?? ''}`, { stdout, stderr });
      for (const check of [...watchers]) check();
      let json: unknown;
      try {
        json = JSON.parse(stdout);
      } catch {
        json = undefined;
      }
      resolve({ code: code ?? -1, signal, stdout, stderr, json });
    }),
  );
  let ended = false;
  void done.then(() => {
    ended = true;
  });
  /** Resolves with what `found` returns for the stderr so far, as soon as it returns something. */
  const until = (found: (text: string) => string | undefined, what: string, timeoutMs = 60_000) =>
    new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => finish(new Error(`no ${what} within ${timeoutMs} ms`)), timeoutMs);
      const finish = (error?: Error, value?: string) => {
        watchers.delete(check);
        clearTimeout(timer);
        if (error) reject(error);
        else resolve(value as string);
      };
      const check = () => {
        const value = found(stderr);
        if (value !== undefined) finish(undefined, value);
        else if (ended || child.exitCode !== null || child.signalCode !== null) {
          finish(new Error(`the process ended before ${what}:\n${stderr}`));
        }
      };
      watchers.add(check);
      check();
    });
  const line = (pattern: RegExp, timeoutMs?: number) =>
    until((text) => text.split('\n').find((l) => pattern.test(l)), `a line matching ${pattern}`, timeoutMs);
  const lines = (n: number, timeoutMs?: number) =>
    until(
      (text) => (text.split('\n').length > n ? text.split('\n')[n - 1] : undefined),
      `${n} lines`,
      timeoutMs,
    );
  return { child, pid: child.pid as number, stderr: () => stderr, line, lines, done };
}
