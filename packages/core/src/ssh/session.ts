import { readFileSync } from 'node:fs';
import { connect as connectTcp, type Socket } from 'node:net';
import type { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import type { NodeSSH } from 'node-ssh';
import pLimit, { type LimitFunction } from 'p-limit';
import type { ClientChannel } from 'ssh2';
import { InputError, messageOf, RemoteCommandError, SshError } from '../errors.js';
import type { SshTarget } from '../records/host-target.js';
import { fingerprintOf, knownKeysFor } from './known-hosts.js';
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

/**
 * sshd drops connections that have not authenticated yet beyond its MaxStartups (default 10, at
 * random from there): a server creating 16 sandboxes on one host at once saw "Connection lost
 * before handshake". So this process runs at most this many handshakes per host at once, and a
 * connection dropped before its handshake is tried again (HANDSHAKE_ATTEMPTS in all).
 */
const HANDSHAKES_PER_HOST = 8;
const HANDSHAKE_ATTEMPTS = 3;
const handshakeLimits = new Map<string, LimitFunction>();
function handshakeLimit(where: string): LimitFunction {
  let limit = handshakeLimits.get(where);
  if (!limit) {
    limit = pLimit(HANDSHAKES_PER_HOST);
    handshakeLimits.set(where, limit);
  }
  return limit;
}
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
    const verify = buildHostVerifier(target, options, (problem) => {
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

function readKeyFile(target: SshTarget): string {
  if (!target.identity_file) {
    throw new InputError(
      `no SSH key for ${destination(target)}: give one (an identity file, identity_file in the hosts file, or the key itself)`,
      { field: 'ssh_key' },
    );
  }
  try {
    return readFileSync(target.identity_file, 'utf8');
  } catch (error) {
    throw new InputError(
      `cannot read SSH key file ${target.identity_file}: ${(error as NodeJS.ErrnoException).code ?? messageOf(error)}`,
    );
  }
}

function buildHostVerifier(
  target: SshTarget,
  options: SessionOptions,
  reject: (problem: string) => void,
): (key: Buffer) => boolean {
  const where = `${target.address}:${target.port}`;
  if (target.insecure_ignore_host_key) {
    options.warn?.(
      `WARNING: not verifying the host key of ${where} (insecure_ignore_host_key); anyone on the path could impersonate it`,
    );
    return () => true;
  }
  if (target.fingerprint) {
    const expected = target.fingerprint;
    return (key) => {
      const actual = fingerprintOf(key);
      if (actual === expected) return true;
      reject(
        `host key of ${where} does not match the pinned fingerprint: expected ${expected}, got ${actual}`,
      );
      return false;
    };
  }
  if (target.known_hosts) {
    let known: Buffer[];
    try {
      known = knownKeysFor(target.known_hosts, target.address, target.port);
    } catch (error) {
      throw new InputError(
        `cannot read known_hosts file ${target.known_hosts}: ${(error as NodeJS.ErrnoException).code ?? messageOf(error)}`,
      );
    }
    const path = target.known_hosts;
    return (key) => {
      if (known.some((k) => k.equals(key))) return true;
      reject(
        known.length === 0
          ? `host ${where} is not listed in ${path} (add it with: ssh-keyscan -p ${target.port} ${target.address} >> ${path})`
          : `host key of ${where} does not match ${path}: got ${fingerprintOf(key)}; if the host was rebuilt, update that file`,
      );
      return false;
    };
  }
  throw new InputError(
    `no way to verify the host key of ${where}: give a known_hosts file or a pinned fingerprint (or, knowingly, turn verification off)`,
    { field: 'host_key' },
  );
}

/**
 * The TCP connection for one session, with Nagle's algorithm off. ssh2 leaves it on, and then every
 * small SSH packet that follows an unacknowledged one waits for the host's delayed ACK (40 ms on
 * Linux): the handshake took ~0.2 s and every command ~90 ms of round trips on the loopback
 * testbed, against ~40 ms and ~4 ms without it. Connected here, before ssh2 gets it, so that a
 * refused or silent port fails with the socket's own error code (connectFailure reads it).
 */
async function tcpConnection(target: SshTarget, timeoutMs: number): Promise<Socket> {
  const socket = connectTcp({ host: target.address, port: target.port, noDelay: true });
  // A reset between connecting and ssh2 taking the socket must not be an unhandled 'error' event;
  // ssh2 adds its own listener and reports it.
  socket.on('error', () => {});
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(Object.assign(new Error('connect timed out'), { code: 'ETIMEDOUT' })),
        timeoutMs,
      );
      socket.once('connect', () => {
        clearTimeout(timer);
        resolve();
      });
      socket.once('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
    });
  } catch (error) {
    socket.destroy();
    throw error;
  }
  return socket;
}

function connectFailure(error: unknown, target: SshTarget, timeoutMs: number): string {
  const where = `${target.address}:${target.port}`;
  const seconds = Math.round(timeoutMs / 1000);
  const code = (error as NodeJS.ErrnoException).code;
  const message = messageOf(error);
  if (code === 'ECONNREFUSED') return `cannot reach ${where} after ${seconds} s: connection refused`;
  if (code === 'EHOSTUNREACH' || code === 'ENETUNREACH') return `cannot reach ${where}: no route to host`;
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return `cannot resolve host name ${target.address}`;
  if (/Timed out while waiting for handshake/i.test(message) || code === 'ETIMEDOUT') {
    return `cannot reach ${where} after ${seconds} s: timed out`;
  }
  if (/authentication methods failed/i.test(message)) {
    return `${destination(target)} refused the SSH key (permission denied); check the key and the user's authorized_keys`;
  }
  if (/Encrypted private key|passphrase/i.test(message)) {
    return `the SSH key for ${destination(target)} is passphrase-protected, which is not supported: use a key without a passphrase`;
  }
  if (/Cannot parse privateKey|does not contain a \(valid\) private key/i.test(message)) {
    return `the SSH key for ${destination(target)} is not a usable private key (${message.replace(/privateKey/g, 'private key')})`;
  }
  return `SSH connection to ${where} failed: ${message}`;
}

function lastLines(text: string, count: number): string {
  return text.trimEnd().split('\n').slice(-count).join('\n');
}

/** Keeps the last `max` bytes of a stream: enough to explain a failure, bounded however much is logged. */
class TailBuffer {
  #chunks: Buffer[] = [];
  #size = 0;
  #dropped = false;
  constructor(readonly max: number) {}

  push(chunk: Buffer): void {
    this.#chunks.push(chunk);
    this.#size += chunk.length;
    // Drop whole chunks from the front only while what remains still covers `max` bytes.
    while (this.#chunks.length > 1 && this.#size - (this.#chunks[0] as Buffer).length >= this.max) {
      this.#size -= (this.#chunks.shift() as Buffer).length;
      this.#dropped = true;
    }
  }

  text(): string {
    let buffer = Buffer.concat(this.#chunks);
    if (buffer.length > this.max) {
      buffer = buffer.subarray(buffer.length - this.max);
      this.#dropped = true;
    }
    return (this.#dropped ? '…' : '') + buffer.toString('utf8');
  }
}
