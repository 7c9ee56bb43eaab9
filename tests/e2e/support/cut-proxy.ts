import { type ChildProcess, fork } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A TCP proxy in front of the testbed's sshd that a test can cut: every connection through it is
 * destroyed at once (both sides), as when a link drops. After a cut it accepts new connections
 * again, as a network that comes back does. It runs as a child process (cut-proxy-server.mjs), so
 * it keeps forwarding while the test worker waits in a synchronous CLI run.
 */
export interface CutProxy {
  port: number;
  /**
   * Cuts every connection as soon as connection number `connection` (0-based, in order of arrival)
   * or a later one has sent `afterBytesUp` bytes; resolves with how many connections were open.
   */
  cutWhen: (
    condition: { connection: number; afterBytesUp: number; reset?: boolean },
    timeoutMs?: number,
  ) => Promise<number>;
  /**
   * Cuts every open connection now. `reset`: the client gets a TCP RST instead of a FIN; `refuse`:
   * new connections are reset at once until `accept()` (the host stays unreachable).
   */
  cut: (options?: { reset?: boolean; refuse?: boolean }) => Promise<number>;
  /** Lets new connections through again after a `cut({ refuse: true })`. */
  accept: () => Promise<void>;
  close: () => Promise<void>;
}

export async function startCutProxy(targetHost: string, targetPort: number): Promise<CutProxy> {
  const child: ChildProcess = fork(
    join(import.meta.dirname, 'cut-proxy-server.mjs'),
    [targetHost, String(targetPort)],
    {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    },
  );
  const port = await new Promise<number>((resolve, reject) => {
    child.once('message', (m: { type: string; port: number }) => resolve(m.port));
    child.once('exit', (code) => reject(new Error(`the cut proxy exited (${code}) before listening`)));
  });
  const nextCut = (timeoutMs: number) =>
    new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => {
        child.off('message', onMessage);
        reject(new Error(`no cut within ${timeoutMs} ms`));
      }, timeoutMs);
      const onMessage = (m: { type: string; count: number }) => {
        if (m.type !== 'cut') return;
        clearTimeout(timer);
        child.off('message', onMessage);
        resolve(m.count);
      };
      child.on('message', onMessage);
    });
  return {
    port,
    cutWhen: (condition, timeoutMs = 60_000) => {
      const cut = nextCut(timeoutMs);
      child.send({ type: 'arm', ...condition });
      return cut;
    },
    cut: (options = {}) => {
      const cut = nextCut(5000);
      child.send({ type: 'cut', ...options });
      return cut;
    },
    accept: () =>
      new Promise((resolve) => {
        const onMessage = (m: { type: string }) => {
          if (m.type !== 'accepting') return;
          child.off('message', onMessage);
          resolve();
        };
        child.on('message', onMessage);
        child.send({ type: 'accept' });
      }),
    close: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

/**
 * A known_hosts file in which the proxy on 127.0.0.1:`proxyPort` is another name for `host:port`'s
 * key (the testbed's), so a client verifies the real host key through the proxy.
 */
export function proxyKnownHosts(
  knownHostsFile: string,
  host: string,
  port: number,
  proxyPort: number,
): string {
  const keyLine = readFileSync(knownHostsFile, 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`[${host}]:${port} `));
  if (!keyLine) throw new Error(`${knownHostsFile} has no key for [${host}]:${port}`);
  const file = join(mkdtempSync(join(tmpdir(), 'sbx-proxy-kh-')), 'known_hosts');
  writeFileSync(file, `${keyLine.replace(/^\S+/, `[127.0.0.1]:${proxyPort}`)}\n`);
  return file;
}
