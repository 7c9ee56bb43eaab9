import type { Socket } from 'node:net';
import type { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import type { NodeSSH } from 'node-ssh';
import type { ClientChannel } from 'ssh2';
import { messageOf, RemoteCommandError, SshError } from '../errors.js';
import type { SshTarget } from '../records/host-target.js';
import { connectFailure, HANDSHAKE_ATTEMPTS, handshakeLimit, readKeyFile, tcpConnection } from './connect.js';
import { buildHostVerifier } from './host-key.js';
import { lastLines, TailBuffer } from './tail-buffer.js';
import { destination } from './target.js';

export interface SessionOptions {
  /** Private key text (e.g. from the action's `ssh-key` input); never logged or stored. */
  keyText?: string;
  connectTimeoutMs?: number;
  /** Default limit for one remote command. */
  commandTimeoutMs?: number;
  /** Where warnings go (insecure host key mode). */
  warn?: (message: string) => void;
}

export interface ExecOptions {
  stdin?: string | Readable;
  timeoutMs?: number;
  /** Keep at most this many bytes of stdout and of stderr (the tail); streams are never buffered whole. */
  maxOutputBytes?: number;
  onStdout?: (chunk: Buffer) => void;
  /** A short description for errors: "compose up", "mkdir". */
  what?: string;
}

export interface ExecResult {
  code: number | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;

const DEFAULT_COMMAND_TIMEOUT_MS = 120_000;
const DEFAULT_MAX_OUTPUT = 256 * 1024;

/** Counts handshakes in this process, so tests and benchmarks can check connection reuse. */
export const sshStats = { connections: 0 };

/**
 * One SSH connection, reused for every command of one sandbox operation. Host keys are verified
 * against a known_hosts file or a pinned fingerprint unless the target explicitly opts out.
 */
export class SshSession {
  readonly destination: string;
  /** The host key this connection verified; handed to rsync's ssh so it trusts exactly this key. */
  readonly hostKey: Buffer;
  readonly #ssh: NodeSSH;
  readonly #commandTimeoutMs: number;
  #home: string | undefined;
  /** Why the connection ended (reset, closed by the host), once it has; then every exec fails at once. */
  #lost: Error | undefined;

  private constructor(ssh: NodeSSH, target: SshTarget, hostKey: Buffer, commandTimeoutMs: number) {
    this.#ssh = ssh;
    this.hostKey = hostKey;
    this.destination = destination(target);
    this.#commandTimeoutMs = commandTimeoutMs;
    // Without a listener a reset (ECONNRESET) after connecting is an unhandled 'error' event that
    // kills the process before anything can roll back; instead the session is marked lost.
    const connection = ssh.connection;
    connection?.on('error', (error: Error) => {
      this.#lost ??= error;
    });
    connection?.on('close', () => {
      this.#lost ??= new Error('the connection was closed');
    });
  }

  /** False once the connection has dropped: callers open a new session instead of reusing this one. */
  get alive(): boolean {
    return this.#lost === undefined;
  }

  static async open(target: SshTarget, options: SessionOptions = {}): Promise<SshSession> {
    const where = `${target.address}:${target.port}`;
    const timeoutMs = options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
    const privateKey = options.keyText ?? readKeyFile(target);
    let verification: string | undefined;
    let hostKey: Buffer | undefined;
    const verify = buildHostVerifier(target, options.warn, (problem) => {
      verification = problem;
    });
    const hostVerifier = (key: Buffer) => {
      hostKey = key;
      return verify(key);
    };
    // Loaded on first use: ssh2 is heavy, and commands such as `list` never need it.
    const { NodeSSH } = await import('node-ssh');
    const connect = async (): Promise<NodeSSH> => {
      for (let attempt = 1; ; attempt++) {
        hostKey = undefined;
        const ssh = new NodeSSH();
        let socket: Socket | undefined;
        try {
          sshStats.connections += 1;
          const deadline = Date.now() + timeoutMs;
          socket = await tcpConnection(target, timeoutMs);
          await ssh.connect({
            host: target.address,
            port: target.port,
            sock: socket,
            username: target.user,
            privateKey,
            readyTimeout: Math.max(1, deadline - Date.now()),
            hostVerifier,
            // Only the key we were given: never an agent, a password prompt or keyboard-interactive.
            tryKeyboard: false,
            agent: undefined,
            // Straight to the key: ssh2's default first tries "none" to learn the methods, which costs a
            // round trip with sshd's delay for a failed attempt (~50 ms of every connection).
            authHandler: ['publickey'],
          });
          return ssh;
        } catch (error) {
          ssh.dispose();
          socket?.destroy();
          if (verification) throw new SshError(verification, 'connect', { host: where });
          // sshd drops unauthenticated connections beyond its MaxStartups at random, with a close or
          // a reset: try again soon, if nothing got as far as the host key (nothing ran).
          const code = (error as NodeJS.ErrnoException).code;
          const dropped =
            /lost before handshake/i.test(messageOf(error)) || code === 'ECONNRESET' || code === 'EPIPE';
          if (attempt < HANDSHAKE_ATTEMPTS && dropped && hostKey === undefined) {
            await sleep(150 * attempt + Math.random() * 250);
            continue;
          }
          throw new SshError(
            connectFailure(error, target, timeoutMs),
            'connect',
            { host: where },
            { cause: error },
          );
        }
      }
    };
    const ssh = await handshakeLimit(where)(connect);
    return new SshSession(
      ssh,
      target,
      hostKey as Buffer,
      options.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS,
    );
  }

  /**
   * Runs a command built with `command()`/`quote()`; resolves with its exit code and the tails of
   * its output. Output is streamed into bounded buffers (never held whole), and on timeout the
   * remote process is killed and the call returns at once instead of waiting for it.
   */
  exec(cmd: string, options: ExecOptions = {}): Promise<ExecResult> {
    const max = options.maxOutputBytes ?? DEFAULT_MAX_OUTPUT;
    const stdout = new TailBuffer(max);
    const stderr = new TailBuffer(max);
    const timeoutMs = options.timeoutMs ?? this.#commandTimeoutMs;
    const connection = this.#ssh.connection;
    const lost = (error: unknown) =>
      new SshError(
        `lost the SSH connection to ${this.destination} during ${options.what ?? 'a command'}: ${messageOf(error)}`,
        'session',
        {},
        { cause: error },
      );
    return new Promise<ExecResult>((resolve, reject) => {
      if (!connection) return reject(lost(new Error('not connected')));
      if (this.#lost) return reject(lost(this.#lost));
      connection.exec(cmd, (error: Error | undefined, channel: ClientChannel) => {
        if (error) return reject(lost(error));
        let code: number | null = null;
        let settled = false;
        const finish = (timedOut: boolean) => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          resolve({ code: timedOut ? null : code, stdout: stdout.text(), stderr: stderr.text(), timedOut });
        };
        const timer = setTimeout(() => {
          // Closing our end alone does not stop the remote process; ask sshd to kill it too.
          channel.signal('KILL');
          channel.close();
          finish(true);
        }, timeoutMs);
        channel.on('data', (chunk: Buffer) => {
          stdout.push(chunk);
          options.onStdout?.(chunk);
        });
        channel.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
        channel.on('exit', (exitCode: number | null) => {
          code = exitCode;
        });
        channel.on('close', () => {
          // No exit status and the connection gone: the command did not fail, the connection did.
          if (code === null && this.#lost && !settled) {
            settled = true;
            clearTimeout(timer);
            reject(lost(this.#lost));
            return;
          }
          finish(false);
        });
        const fail = (failure: Error) => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          channel.close();
          reject(lost(failure));
        };
        channel.on('error', fail);
        const { stdin } = options;
        if (stdin === undefined) channel.end();
        else if (typeof stdin === 'string') channel.end(stdin);
        else {
          stdin.on('error', fail);
          stdin.pipe(channel);
        }
      });
    });
  }

  /** Like exec, but a non-zero exit or a timeout is a RemoteCommandError carrying stderr's tail. */
  async run(cmd: string, options: ExecOptions = {}): Promise<string> {
    const result = await this.exec(cmd, options);
    if (result.timedOut) {
      const ms = options.timeoutMs ?? this.#commandTimeoutMs;
      const after = ms < 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms / 1000)} s`;
      throw new RemoteCommandError(
        `${options.what ?? 'remote command'} on ${this.destination} timed out after ${after}`,
        null,
      );
    }
    if (result.code !== 0) {
      const tail = lastLines(result.stderr || result.stdout, 20);
      throw new RemoteCommandError(
        `${options.what ?? 'remote command'} on ${this.destination} failed (exit ${result.code})${tail ? `:\n${tail}` : ''}`,
        result.code,
      );
    }
    return result.stdout;
  }

  /** The login user's home directory, to expand `~/` in configured paths (quoting disables `~`). */
  async home(): Promise<string> {
    this.#home ??= (await this.run('printf %s "$HOME"', { what: 'reading $HOME' })).trim();
    return this.#home;
  }

  close(): void {
    this.#ssh.dispose();
  }
}

/** Opens a session, runs `fn`, and always closes it. */
export async function withSession<T>(
  target: SshTarget,
  options: SessionOptions,
  fn: (session: SshSession) => Promise<T>,
): Promise<T> {
  const session = await SshSession.open(target, options);
  try {
    return await fn(session);
  } finally {
    session.close();
  }
}
