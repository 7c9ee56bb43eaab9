import { type ChildProcess, spawn } from 'node:child_process';
import { recordOutput, recordSecrets, secretsOf } from './artifacts.js';
import { checkedFetch } from './checked-fetch.js';
import { CLI } from './cli.js';

export interface ServerProcess {
  url: string;
  child: ChildProcess;
  /** fetch on the server's URL (`path` starts with `/`), the response checked against /openapi.json. */
  fetch: (path: string, init?: RequestInit) => Promise<Response>;
  /** Everything the server wrote to stderr (its request log). */
  log: () => string;
  stop: (signal?: NodeJS.Signals) => Promise<number | null>;
}

/** Starts `sandboxer serve --port 0` as a real process and waits for the address it prints. */
export async function startServe(env: Record<string, string>, args: string[] = []): Promise<ServerProcess> {
  recordSecrets(secretsOf(env));
  const child = spawn(process.execPath, [CLI, 'serve', '--port', '0', ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.once('close', () => recordOutput('serve', { stderr }));
  const url = await new Promise<string>((resolve, reject) => {
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      const match = /serving on (http:\/\/\S+) /.exec(stderr);
      if (match) resolve(match[1] as string);
    });
    child.once('exit', (code) => reject(new Error(`sandboxer serve exited ${code}: ${stderr}`)));
  });
  return {
    url,
    child,
    fetch: (path, init) => checkedFetch(`${url}${path}`, init),
    log: () => stderr,
    stop: (signal = 'SIGTERM') =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve(child.exitCode);
        child.once('exit', (code) => resolve(code));
        child.kill(signal);
      }),
  };
}
