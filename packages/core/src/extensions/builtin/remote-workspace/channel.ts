import type { Duplex } from 'node:stream';
import { command } from '../../../ssh/quote.js';
import type { SshSession } from '../../../ssh/session.js';
import type { ExecRequest, SandboxChannel } from '../../contract.js';

/** Reaching a sandbox on an SSH host: streams to its ports, and commands in it. */

/**
 * A SandboxChannel over one SSH connection: direct-tcpip streams to the ports the host sees, and —
 * given how to renew the sandbox's lease — renewals over the same connection.
 */
export class SshChannel implements SandboxChannel {
  readonly #session: SshSession;
  readonly renewLease?: () => Promise<boolean>;

  constructor(session: SshSession, renew?: (session: SshSession) => Promise<boolean>) {
    this.#session = session;
    if (renew) this.renewLease = () => renew(session);
  }

  connect(host: string, port: number): Promise<Duplex> {
    return this.#session.forwardOut(host, port);
  }

  get alive(): boolean {
    return this.#session.alive;
  }

  close(): void {
    this.#session.close();
  }
}

/** `cd -- <dir> && exec <argv…>`: every argument quoted, so none is re-split or interpreted. */
export function workspaceExecCommand(dir: string, argv: string[]): string {
  if (argv.length === 0) throw new Error('no command to run');
  return `${command('cd', '--', dir)} && exec ${command(...argv)}`;
}

/**
 * Runs a built command on the host with the request's streams; resolves its exit code (a command
 * stopped by the caller, or whose connection dropped, exits 255, as ssh(1) reports it).
 */
export async function execOnHost(session: SshSession, remote: string, request: ExecRequest): Promise<number> {
  const result = await session.exec(remote, {
    ...(request.stdin ? { stdin: request.stdin } : {}),
    onStdout: request.stdout,
    onStderr: request.stderr,
    // The output is streamed to the caller; only a short tail is kept for nothing.
    maxOutputBytes: 4096,
    // A command runs as long as it runs (a test suite): the caller stops it with its signal.
    timeoutMs: 7 * 24 * 3600 * 1000,
    ...(request.signal ? { signal: request.signal } : {}),
    what: 'the command',
  });
  return result.code ?? 255;
}
