import { readFileSync } from 'node:fs';
import { connect as connectTcp, type Socket } from 'node:net';
import pLimit, { type LimitFunction } from 'p-limit';
import { InputError, messageOf } from '../errors.js';
import type { SshTarget } from '../records/host-target.js';
import { destination } from './target.js';

/** Opening one SSH connection: the TCP socket, the key, how many at once, and what a failure means. */

/**
 * sshd drops connections that have not authenticated yet beyond its MaxStartups (default 10, at
 * random from there): a server creating 16 sandboxes on one host at once saw "Connection lost
 * before handshake". So this process runs at most this many handshakes per host at once, and a
 * connection dropped before its handshake is tried again (HANDSHAKE_ATTEMPTS in all).
 */
const HANDSHAKES_PER_HOST = 8;
export const HANDSHAKE_ATTEMPTS = 3;
const handshakeLimits = new Map<string, LimitFunction>();
export function handshakeLimit(where: string): LimitFunction {
  let limit = handshakeLimits.get(where);
  if (!limit) {
    limit = pLimit(HANDSHAKES_PER_HOST);
    handshakeLimits.set(where, limit);
  }
  return limit;
}

/** The target's identity file, read when no key text was given. */
export function readKeyFile(target: SshTarget): string {
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

/**
 * The TCP connection for one session, with Nagle's algorithm off. ssh2 leaves it on, and then every
 * small SSH packet that follows an unacknowledged one waits for the host's delayed ACK (40 ms on
 * Linux): the handshake took ~0.2 s and every command ~90 ms of round trips on the loopback
 * testbed, against ~40 ms and ~4 ms without it. Connected here, before ssh2 gets it, so that a
 * refused or silent port fails with the socket's own error code (connectFailure reads it).
 */
export async function tcpConnection(target: SshTarget, timeoutMs: number): Promise<Socket> {
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

/** Why a connection failed, in words a user can act on. */
export function connectFailure(error: unknown, target: SshTarget, timeoutMs: number): string {
  const where = `${target.address}:${target.port}`;
  const seconds = Math.round(timeoutMs / 1000);
  const code = (error as NodeJS.ErrnoException).code;
  const message = messageOf(error);
  if (code === 'ECONNREFUSED')
    return `cannot reach ${where}: connection refused (is sshd running on that port?)`;
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
