import { InputError, messageOf } from '../errors.js';
import type { SshTarget } from '../records/host-target.js';
import { fingerprintOf, knownKeysFor } from './known-hosts.js';

/**
 * How a connection decides to trust the host's key: a pinned fingerprint, a known_hosts file, or —
 * only when asked for explicitly — nothing (with a warning). Without any of them it refuses to connect.
 */
export function buildHostVerifier(
  target: SshTarget,
  warn: ((message: string) => void) | undefined,
  reject: (problem: string) => void,
): (key: Buffer) => boolean {
  const where = `${target.address}:${target.port}`;
  if (target.insecure_ignore_host_key) {
    warn?.(
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
