import { execFile, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { recordOutput, recordSecrets, secretsOf } from './artifacts.js';

/** The built CLI, run as a user runs it. */
export const CLI = join(import.meta.dirname, '..', '..', '..', 'packages', 'cli', 'bin', 'sandboxer.js');

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
  /** stdout parsed as JSON when the command was run with --json. */
  // biome-ignore lint/suspicious/noExplicitAny: the tests assert the shapes they read.
  json: any;
}

function parse(stdout: string): unknown {
  try {
    return JSON.parse(stdout);
  } catch {
    return undefined;
  }
}

export function sandboxer(args: string[], env: Record<string, string>, cwd?: string): CliRun {
  recordSecrets(secretsOf(env));
  const result = spawnSync(process.execPath, [CLI, ...args], {
    env: { ...process.env, ...env },
    cwd,
    encoding: 'utf8',
    timeout: 300_000,
  });
  recordOutput(`cli-${args[0] ?? ''}`, result);
  return {
    code: result.status ?? -1,
    stdout: result.stdout,
    stderr: result.stderr,
    json: parse(result.stdout),
  };
}

export function sandboxerAsync(args: string[], env: Record<string, string>): Promise<CliRun> {
  recordSecrets(secretsOf(env));
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CLI, ...args],
      { env: { ...process.env, ...env }, timeout: 300_000 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
        recordOutput(`cli-${args[0] ?? ''}`, { stdout, stderr });
        resolve({ code, stdout, stderr, json: parse(stdout) });
      },
    );
  });
}
