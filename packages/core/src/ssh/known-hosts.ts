import { createHash, createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';

/** `SHA256:<base64 without padding>`, the fingerprint format OpenSSH prints. */
export function fingerprintOf(key: Buffer): string {
  return `SHA256:${createHash('sha256').update(key).digest('base64').replace(/=+$/, '')}`;
}

/** How known_hosts names a host: `address` on port 22, `[address]:port` otherwise. */
function hostPattern(address: string, port: number): string {
  return port === 22 ? address : `[${address}]:${port}`;
}

/** Matches one host field (plain, comma list, or hashed `|1|salt|hash`) against the host. */
function hostFieldMatches(field: string, name: string): boolean {
  if (field.startsWith('|1|')) {
    const [, , salt, hash] = field.split('|');
    if (!salt || !hash) return false;
    const digest = createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest('base64');
    return digest === hash;
  }
  return field.split(',').includes(name);
}

/**
 * The host keys a known_hosts file lists for `address:port`, as raw key blobs. Marker lines
 * (`@revoked`, `@cert-authority`) are not trusted for a plain match.
 */
export function knownKeysFor(knownHostsPath: string, address: string, port: number): Buffer[] {
  const name = hostPattern(address, port);
  const keys: Buffer[] = [];
  const revoked: Buffer[] = [];
  for (const raw of readFileSync(knownHostsPath, 'utf8').split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const fields = line.split(/\s+/);
    if (fields[0] === '@revoked') {
      // A revoked key is never trusted, whichever other line lists it.
      if (fields[3]) revoked.push(Buffer.from(fields[3], 'base64'));
      continue;
    }
    if (line.startsWith('@')) continue;
    const [hosts, , keyBase64] = fields;
    if (hosts && keyBase64 && hostFieldMatches(hosts, name)) keys.push(Buffer.from(keyBase64, 'base64'));
  }
  return keys.filter((key) => !revoked.some((r) => r.equals(key)));
}

/** The key type named inside an SSH public key blob (`ssh-ed25519`, `ecdsa-sha2-nistp256`, …). */
export function keyTypeOf(key: Buffer): string {
  const length = key.readUInt32BE(0);
  return key.subarray(4, 4 + length).toString('ascii');
}

/** One known_hosts line that trusts exactly `key` for `address:port`. */
export function knownHostsLine(address: string, port: number, key: Buffer): string {
  return `${hostPattern(address, port)} ${keyTypeOf(key)} ${key.toString('base64')}`;
}
