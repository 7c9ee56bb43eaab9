import { InputError } from '../errors.js';
import type { SshTarget } from '../records/host-target.js';

/** `user@address:port`, the form shown to users and accepted as a request's host. */
export function destination(target: Pick<SshTarget, 'address' | 'port' | 'user'>): string {
  const address = target.address.includes(':') ? `[${target.address}]` : target.address;
  return `${target.user}@${address}:${target.port}`;
}

const USER = /^[a-z_][a-z0-9_.-]{0,31}$/i;
const HOSTNAME = /^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?$/i;
const IPV6 = /^[0-9a-f:.]+$/i;

/** A host name, IPv4 address, or (bare) IPv6 address: never something ssh could read as an option. */
export function isValidAddress(address: string): boolean {
  return HOSTNAME.test(address) || (address.includes(':') && IPV6.test(address));
}

/**
 * Parses `user@address[:port]` (IPv6 in brackets: `user@[::1]:2222`). Strict on purpose: these
 * values end up in SSH connections and rsync's `-e` argument.
 */
export function parseDestination(text: string): { user: string; address: string; port?: number } {
  // The bare form may not contain brackets, so a lone "[" can never be half-stripped.
  const match = /^([^@\s]+)@(\[[^\][\s]+\]|[^:\s[\]]+)(?::(\d{1,5}))?$/.exec(text);
  const user = match?.[1];
  const bracketed = match?.[2]?.startsWith('[') ?? false;
  const address = bracketed ? match?.[2]?.slice(1, -1) : match?.[2];
  const bad = (why: string) =>
    new InputError(
      `host ${JSON.stringify(text)}: ${why} (expected user@address[:port] or a hosts-file alias)`,
      {
        field: 'host',
        host: text,
      },
    );
  if (!match || !user || !address) throw bad('not a destination');
  if (!USER.test(user)) throw bad(`"${user}" is not a valid user name`);
  // Brackets hold an IPv6 address only (with a colon): `[..]` or `[1.2]` are not addresses.
  if (!(bracketed ? address.includes(':') && IPV6.test(address) : HOSTNAME.test(address))) {
    throw bad(`"${address}" is not a valid host name or address`);
  }
  const port = match[3] === undefined ? undefined : Number(match[3]);
  if (port !== undefined && (port < 1 || port > 65_535)) throw bad(`port ${port} is out of range`);
  return port === undefined ? { user, address } : { user, address, port };
}
