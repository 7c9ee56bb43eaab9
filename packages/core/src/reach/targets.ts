import { InputError } from '../errors.js';
import type { SandboxRecord } from '../records/sandbox.js';

/** What one port forward, or one readiness check, reaches: `host:port` as the sandbox's host sees it. */
export interface PortTarget {
  /** How the user names it: `web:8080` (a compose service's port), `tunnel`, `8080`, `db.internal:5432`. */
  name: string;
  host: string;
  port: number;
}

/** `address:port` (IPv4 or a name; IPv6 in brackets) as stored in a record's endpoints. */
function parseAddress(text: string, what: string): { host: string; port: number } {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([A-Za-z0-9.-]+)):(\d{1,5})$/.exec(text);
  const port = Number(match?.[3]);
  if (!match || !(port >= 1 && port <= 65_535)) {
    throw new InputError(`${what}: expected host:port, got ${JSON.stringify(text)}`, { field: 'forward' });
  }
  return { host: (match[1] ?? match[2]) as string, port };
}

/**
 * What a name reaches on a sandbox: a key of its endpoints (`web:8080` → the address Docker
 * published it on, e.g. 127.0.0.1:49153; `tunnel`); on a sandbox without services (a VM workspace),
 * also any `host:port` or bare `port` (127.0.0.1) as the host sees it. A compose sandbox's name
 * must be one of its published ports: an unpublished one cannot be reached from the host.
 * `publishedOnly` holds any sandbox to its endpoints (a remote client's checks may not probe
 * whatever else the host can reach).
 */
export function resolveTarget(
  record: SandboxRecord,
  name: string,
  { publishedOnly = false }: { publishedOnly?: boolean } = {},
): PortTarget {
  const endpoints = record.reachability?.endpoints ?? {};
  const endpoint = Object.hasOwn(endpoints, name) ? endpoints[name] : undefined;
  if (endpoint !== undefined) return { name, ...parseAddress(endpoint, `endpoint ${name}`) };
  if (record.reachability?.compose_project || publishedOnly) {
    const known = Object.keys(endpoints);
    throw new InputError(
      `${JSON.stringify(name)} is not a published port of sandbox ${record.id} (published: ${known.join(', ') || 'none'}; publish it in the compose file, e.g. "127.0.0.1::8080")`,
      { field: 'forward', sandbox: record.id },
    );
  }
  if (/^\d{1,5}$/.test(name)) return { name, ...parseAddress(`127.0.0.1:${name}`, name) };
  return { name, ...parseAddress(name, name) };
}

/** Every endpoint of the sandbox, or those named. */
export function resolveTargets(record: SandboxRecord, names: string[]): PortTarget[] {
  if (names.length > 0) return names.map((name) => resolveTarget(record, name));
  return Object.keys(record.reachability?.endpoints ?? {}).map((name) => resolveTarget(record, name));
}
