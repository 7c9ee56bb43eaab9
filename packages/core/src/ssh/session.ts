import type { Duplex, Readable, Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import type { NodeSSH } from 'node-ssh';
import type { ClientChannel } from 'ssh2';
import { messageOf, RemoteCommandError, SshError } from '../errors.js';
import type { SshTarget } from '../records/host-target.js';
import {
  type ChannelContext,
  type ExecOptions,
  type ExecResult,
  remoteCommand,
  runOnChannel,
} from './channel-run.js';
import { connectFailure, HANDSHAKE_ATTEMPTS, handshakeLimit, readKeyFile, tcpConnection } from './connect.js';
import { buildHostVerifier } from './host-key.js';
import { lastLines } from './tail-buffer.js';
import { destination } from './target.js';

export interface SessionOptions {
  /** Private key text (e.g. from the action's `ssh-key` input); never logged or stored. */
  keyText?: string;
  /** An ssh-agent socket, used when there is neither key text nor an identity file. */
  agent?: string;
  connectTimeoutMs?: number;
  /** Default limit for one remote command. */
  commandTimeoutMs?: number;
  /** Where warnings go (insecure host key mode). */
  warn?: (message: string) => void;
}

export type { ExecOptions, ExecResult } from './channel-run.js';

/** A running remote command's raw streams (see SshSession.stream). */
export interface RemoteStream {
  /** Its stdin: end it to send EOF. */
  input: Writable;
  output: Readable;
  errors: Readable;
  /** Settles when the command is over, with its exit code (null: killed, or the connection dropped). */
  done: Promise<number | null>;
  /** Closes the channel (the command gets EOF and a hangup). */
  stop(): void;
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
  /** The session to the ProxyJump host this one goes through, if any (closed with this one). */
  readonly jump: SshSession | undefined;
  readonly #ssh: NodeSSH;
  readonly #commandTimeoutMs: number;
  #home: string | undefined;
  /** Why the connection ended (reset, closed by the host), once it has; then every exec fails at once. */
  #lost: Error | undefined;

  private constructor(
    ssh: NodeSSH,
    target: SshTarget,
    hostKey: Buffer,
    commandTimeoutMs: number,
    jump: SshSession | undefined,
  ) {
    this.#ssh = ssh;
    this.hostKey = hostKey;
    this.jump = jump;
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
    // Key text, else the identity file, else the agent (readKeyFile says what is missing).
    const useAgent = options.keyText === undefined && !target.identity_file && options.agent !== undefined;
    const privateKey = useAgent ? undefined : (options.keyText ?? readKeyFile(target));
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
    // ProxyJump: the target is reached over a channel of a session to the jump host.
    const jump = target.jump ? await SshSession.open(target.jump, options) : undefined;
    const connect = async (): Promise<NodeSSH> => {
      for (let attempt = 1; ; attempt++) {
        hostKey = undefined;
        const ssh = new NodeSSH();
        let socket: Duplex | undefined;
        try {
          sshStats.connections += 1;
          const deadline = Date.now() + timeoutMs;
          socket = jump
            ? await jump.forwardOut(target.address, target.port)
            : await tcpConnection(target, timeoutMs);
          await ssh.connect({
            host: target.address,
            port: target.port,
            sock: socket,
            username: target.user,
            ...(privateKey !== undefined ? { privateKey } : {}),
            readyTimeout: Math.max(1, deadline - Date.now()),
            hostVerifier,
            // Only the key we were given (or the agent, when no key was): never a password prompt or
            // keyboard-interactive.
            tryKeyboard: false,
            agent: useAgent ? options.agent : undefined,
            // Straight to the key: ssh2's default first tries "none" to learn the methods, which costs a
            // round trip with sshd's delay for a failed attempt (~50 ms of every connection).
            authHandler: [useAgent ? 'agent' : 'publickey'],
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
    const ssh = await handshakeLimit(where)(connect).catch((error: unknown) => {
      jump?.close();
      throw error;
    });
    return new SshSession(
      ssh,
      target,
      hostKey as Buffer,
      options.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS,
      jump,
    );
  }

  /**
   * Runs a command built with `command()`/`quote()`; resolves with its exit code and the tails of
   * its output. Output is streamed into bounded buffers (never held whole), and on timeout the
   * remote process is killed and the call returns at once instead of waiting for it.
   */
  exec(cmd: string, options: ExecOptions = {}): Promise<ExecResult> {
    const connection = this.#ssh.connection;
    const lost = (error: unknown) => this.#lostDuring(options.what ?? 'a command', error);
    const { remote, group } = remoteCommand(cmd, options);
    const context: ChannelContext = {
      timeoutMs: options.timeoutMs ?? this.#commandTimeoutMs,
      maxOutputBytes: options.maxOutputBytes ?? DEFAULT_MAX_OUTPUT,
      lost: () => this.#lost,
      killGroup: (pgid) => void this.#killGroup(pgid),
    };
    return new Promise<ExecResult>((resolve, reject) => {
      if (!connection) return reject(lost(new Error('not connected')));
      if (this.#lost) return reject(lost(this.#lost));
      connection.exec(remote, (error: Error | undefined, channel: ClientChannel) => {
        if (error) return reject(lost(error));
        // At once, not a tick later: a short command's output, exit and close may be in the same
        // packet as the channel's opening, and are emitted right after this callback.
        runOnChannel(channel, options, context, group).then(resolve, (failure: unknown) =>
          reject(lost(failure)),
        );
      });
    });
  }

  /**
   * A command whose streams the caller pipes itself, with backpressure both ways (the rsync bridge:
   * rsync's protocol runs over it). No time limit: the caller's own protocol has one.
   */
  stream(cmd: string, what: string): Promise<RemoteStream> {
    const connection = this.#ssh.connection;
    return new Promise((resolve, reject) => {
      const lost = (error: unknown) => this.#lostDuring(what, error);
      if (!connection) return reject(lost(new Error('not connected')));
      if (this.#lost) return reject(lost(this.#lost));
      connection.exec(cmd, (error: Error | undefined, channel: ClientChannel) => {
        if (error) return reject(lost(error));
        let code: number | null = null;
        channel.on('exit', (exitCode: number | null) => {
          code = exitCode;
        });
        const done = new Promise<number | null>((settle) => channel.on('close', () => settle(code)));
        channel.on('error', () => channel.close());
        resolve({
          input: channel,
          output: channel,
          errors: channel.stderr,
          done,
          stop: () => channel.close(),
        });
      });
    });
  }

  /** The error for a command the connection failed under (`what`: "compose up", "rsync"). */
  #lostDuring(what: string, error: unknown): SshError {
    return new SshError(
      `lost the SSH connection to ${this.destination} during ${what}: ${messageOf(error)}`,
      'session',
      {},
      { cause: error },
    );
  }

  /** TERM to a stopped command's process group, then KILL to whatever is left of it. */
  async #killGroup(pgid: number): Promise<void> {
    const script = `kill -TERM -- -${pgid} 2>/dev/null; sleep 2; kill -KILL -- -${pgid} 2>/dev/null; true`;
    await this.exec(script, { timeoutMs: 10_000, what: 'stopping a command' }).catch(() => {});
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

  /**
   * A TCP connection to `host:port` made by the host's sshd (a direct-tcpip channel of this
   * connection): ports as the host itself sees them, its loopback included. Port forwards and
   * readiness checks use it, however many, over this one connection.
   */
  forwardOut(host: string, port: number): Promise<ClientChannel> {
    const connection = this.#ssh.connection;
    return new Promise((resolve, reject) => {
      if (!connection || this.#lost) {
        reject(new SshError(`the SSH connection to ${this.destination} is gone`, 'session'));
        return;
      }
      connection.forwardOut(
        '127.0.0.1',
        0,
        host,
        port,
        (error: Error | undefined, channel: ClientChannel) => {
          if (error) {
            reject(
              new SshError(
                `${this.destination} could not connect to ${host}:${port}: ${error.message}`,
                'session',
              ),
            );
          } else resolve(channel);
        },
      );
    });
  }

  close(): void {
    this.#ssh.dispose();
    this.jump?.close();
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
