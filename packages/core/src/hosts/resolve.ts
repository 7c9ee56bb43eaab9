import { existsSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import {
  type HostEntry,
  type HostsFile,
  hostsFileSchema,
  type Placement,
  type PoolEntry,
} from '../declarations/hosts-schema.js';
import { parseDeclaration, readDeclarationFile } from '../declarations/read.js';
import { ConfigError, InputError } from '../errors.js';
import type { RemoteHost, SshTarget } from '../records/host-target.js';
import { destination, isValidAddress, parseDestination } from '../ssh/target.js';
import { findConfigDir } from '../util/config-dir.js';
import { lookupSshConfig, type SshConfigHost } from './ssh-config.js';

/** Per-invocation SSH settings from the command line (or action inputs); they override the hosts file. */
export interface HostFlags {
  identityFile?: string;
  knownHosts?: string;
  fingerprint?: string;
  insecureIgnoreHostKey?: boolean;
}

/** `$SANDBOXER_HOSTS`, else `hosts.yaml` in the `.sandboxer/` of this directory or the repository's. */
export function defaultHostsFile(cwd: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.SANDBOXER_HOSTS) return env.SANDBOXER_HOSTS;
  const dir = findConfigDir(cwd);
  const local = dir === undefined ? undefined : join(dir, 'hosts.yaml');
  return local !== undefined && existsSync(local) ? local : undefined;
}

/** Reads and validates a hosts file; errors name the file and the field. */
export async function loadHostsFile(
  path: string,
  cwd = process.cwd(),
): Promise<HostsFile & { path: string }> {
  const info = statSync(path, { throwIfNoEntry: false });
  if (!info) throw new ConfigError(`hosts file ${path} does not exist`, { field: 'hosts_file' });
  if (!info.isFile()) throw new ConfigError(`hosts file ${path} is not a file`, { field: 'hosts_file' });
  const display = relative(cwd, path) || path;
  const source = await readDeclarationFile(
    'profile',
    path,
    display.startsWith('..') ? path : display,
    dirname(path),
  );
  const parsed = parseDeclaration(source, hostsFileSchema);
  checkPools(source.displayPath, parsed);
  if (
    parsed.default !== undefined &&
    !Object.hasOwn(parsed.hosts, parsed.default) &&
    !Object.hasOwn(parsed.pools, parsed.default)
  ) {
    throw new ConfigError(
      `${source.displayPath}: default: "${parsed.default}" is not one of the hosts or pools (${[...Object.keys(parsed.hosts), ...Object.keys(parsed.pools)].join(', ')})`,
      { field: 'default' },
    );
  }
  return { ...parsed, path };
}

/** Pools name existing hosts (or labels some host has), and no pool takes a host's alias. */
function checkPools(display: string, file: HostsFile): void {
  for (const [name, pool] of Object.entries(file.pools)) {
    if (Object.hasOwn(file.hosts, name)) {
      throw new ConfigError(
        `${display}: pools.${name}: a host has that alias already; give the pool another name`,
        {
          field: `pools.${name}`,
        },
      );
    }
    const unknown = (pool.hosts ?? []).filter((alias) => !Object.hasOwn(file.hosts, alias));
    if (unknown.length > 0) {
      throw new ConfigError(
        `${display}: pools.${name}.hosts: ${unknown.map((a) => `"${a}"`).join(', ')} not among the hosts (${Object.keys(file.hosts).join(', ')})`,
        { field: `pools.${name}.hosts` },
      );
    }
    if (pool.labels && poolMembers(file, pool).length === 0) {
      throw new ConfigError(
        `${display}: pools.${name}.labels: no host has any of ${pool.labels.join(', ')}`,
        {
          field: `pools.${name}.labels`,
        },
      );
    }
  }
}

/** The aliases of a pool's hosts, in the file's order. */
export function poolMembers(file: HostsFile, pool: PoolEntry): string[] {
  if (pool.hosts) return pool.hosts;
  return Object.entries(file.hosts)
    .filter(([, host]) => host.labels.some((l) => pool.labels?.includes(l)))
    .map(([alias]) => alias);
}

/** A pool as routing needs it: its hosts resolved, how to place, how long a failed host rests. */
export interface HostPool {
  name: string;
  placement: Placement;
  cooldownSeconds: number;
  members: RemoteHost[];
}

/** The pool `name` names (or, for undefined, the default when that is a pool); undefined if it is none. */
export function resolvePool(
  name: string | undefined,
  hostsFile: (HostsFile & { path: string }) | undefined,
  flags: HostFlags = {},
  cwd = process.cwd(),
): HostPool | undefined {
  const chosen = name ?? hostsFile?.default;
  if (chosen === undefined || !hostsFile || !Object.hasOwn(hostsFile.pools, chosen)) return undefined;
  const pool = hostsFile.pools[chosen] as PoolEntry;
  return {
    name: chosen,
    placement: pool.placement,
    cooldownSeconds: pool.cooldown,
    members: poolMembers(hostsFile, pool).map((alias) => ({
      ...fromEntry(alias, hostsFile.hosts[alias] as HostEntry, dirname(hostsFile.path), flags, cwd),
      pool: chosen,
    })),
  };
}

/**
 * Turns a request's host into a RemoteHost: an alias from the hosts file, or `user@address[:port]`
 * with the flags for key and host-key verification. Without a host, the hosts file's default (if
 * any). The flags' relative paths are taken from `cwd`.
 */
export function resolveRemoteHost(
  name: string | undefined,
  hostsFile: (HostsFile & { path: string }) | undefined,
  flags: HostFlags = {},
  cwd = process.cwd(),
): RemoteHost | undefined {
  const chosen = name ?? hostsFile?.default;
  if (chosen === undefined) return undefined;
  // Own aliases only: `constructor` or `__proto__` must not find what every object inherits.
  const entry = hostsFile && Object.hasOwn(hostsFile.hosts, chosen) ? hostsFile.hosts[chosen] : undefined;
  if (entry && hostsFile) return fromEntry(chosen, entry, dirname(hostsFile.path), flags, cwd);
  // Not an alias of ours: a Host of the user's ~/.ssh/config, as `ssh <name>` would read it.
  const configured = chosen.includes('@') ? undefined : lookupSshConfig(chosen);
  if (!chosen.includes('@') && !configured) {
    const known = hostsFile ? Object.keys(hostsFile.hosts).join(', ') || 'none' : 'no hosts file';
    const pools = hostsFile ? Object.keys(hostsFile.pools) : [];
    const listed = pools.length > 0 ? `${known}; pools: ${pools.join(', ')}` : known;
    throw new InputError(
      `unknown host "${chosen}": not an alias (${listed}), not a Host of ~/.ssh/config and not user@address[:port]`,
      { field: 'host', host: chosen },
    );
  }
  const parsed = configured ? undefined : parseDestination(chosen);
  // user@name: what ~/.ssh/config says about `name` still applies (HostName, Port, IdentityFile).
  const config = configured ?? lookupSshConfig((parsed as { address: string }).address);
  const ssh: SshTarget = {
    address: config?.address ?? (parsed as { address: string }).address,
    port: parsed?.port ?? config?.port ?? 22,
    user: parsed?.user ?? (config as SshConfigHost).user,
    ...(config?.identityFile !== undefined ? { identity_file: config.identityFile } : {}),
    ...sshFlags(flags, cwd),
  };
  if (!ssh.known_hosts && !ssh.fingerprint && !ssh.insecure_ignore_host_key) {
    ssh.known_hosts = join(homedir(), '.ssh', 'known_hosts');
  }
  if (config?.proxyJump !== undefined) ssh.jump = jumpTarget(chosen, config.proxyJump, ssh);
  return { name: destination(ssh), ssh, labels: [] };
}

/**
 * The host a ProxyJump names (`[user@]host[:port]`, itself looked up in ~/.ssh/config), verified
 * against the same known_hosts as the target and, without a key of its own, logged in to with the
 * target's key. One hop: a chain (`a,b`) is refused, naming it.
 */
function jumpTarget(chosen: string, proxyJump: string, via: SshTarget): SshTarget {
  if (proxyJump.includes(',')) {
    throw new InputError(
      `host "${chosen}": ProxyJump ${proxyJump} has more than one hop, which sand-boxer does not support; jump through one host`,
      { field: 'host', host: chosen },
    );
  }
  const at = proxyJump.lastIndexOf('@');
  const user = at >= 0 ? proxyJump.slice(0, at) : undefined;
  const rest = at >= 0 ? proxyJump.slice(at + 1) : proxyJump;
  const match = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(rest);
  if (!match?.[1] || !isValidAddress(match[1].replace(/^\[|\]$/g, ''))) {
    throw new InputError(
      `host "${chosen}": ProxyJump ${JSON.stringify(proxyJump)} is not [user@]host[:port]`,
      {
        field: 'host',
        host: chosen,
      },
    );
  }
  const name = match[1].replace(/^\[|\]$/g, '');
  const config = lookupSshConfig(name);
  const identity = config?.identityFile ?? via.identity_file;
  return {
    address: config?.address ?? name,
    port: match[2] !== undefined ? Number(match[2]) : (config?.port ?? 22),
    user: user ?? config?.user ?? via.user,
    ...(identity !== undefined ? { identity_file: identity } : {}),
    // A fingerprint pins the target's key, not the jump host's: that one is checked in known_hosts.
    known_hosts: via.known_hosts ?? join(homedir(), '.ssh', 'known_hosts'),
    ...(via.insecure_ignore_host_key ? { insecure_ignore_host_key: true } : {}),
  };
}

function fromEntry(
  alias: string,
  entry: HostEntry,
  baseDir: string,
  flags: HostFlags,
  cwd: string,
): RemoteHost {
  // A verification flag replaces the entry's whole verification setting; mixing them could leave an
  // entry's insecure mode (checked first) silently in force.
  const flagVerifies = Boolean(flags.knownHosts || flags.fingerprint || flags.insecureIgnoreHostKey);
  const verification = flagVerifies
    ? {}
    : {
        ...(entry.known_hosts ? { known_hosts: expandPath(entry.known_hosts, baseDir) } : {}),
        ...(entry.fingerprint ? { fingerprint: entry.fingerprint } : {}),
        ...(entry.insecure_ignore_host_key ? { insecure_ignore_host_key: true } : {}),
      };
  const ssh: SshTarget = {
    address: entry.address,
    port: entry.port,
    user: entry.user,
    ...(entry.identity_file ? { identity_file: expandPath(entry.identity_file, baseDir) } : {}),
    ...verification,
    ...sshFlags(flags, cwd),
  };
  if (!ssh.known_hosts && !ssh.fingerprint && !ssh.insecure_ignore_host_key) {
    ssh.known_hosts = join(homedir(), '.ssh', 'known_hosts');
  }
  return {
    name: alias,
    ssh,
    labels: entry.labels,
    ...(entry.base_dir ? { base_dir: entry.base_dir } : {}),
    ...(entry.capacity ? { capacity: entry.capacity } : {}),
    ...(entry.min_free_disk ? { min_free_disk: entry.min_free_disk } : {}),
    ...(entry.min_free_memory ? { min_free_memory: entry.min_free_memory } : {}),
  };
}

/** The SSH settings the flags of this invocation give, paths made absolute against `cwd`. */
export function sshFlags(flags: HostFlags, cwd: string): Partial<SshTarget> {
  return {
    ...(flags.identityFile ? { identity_file: expandPath(flags.identityFile, cwd) } : {}),
    ...(flags.knownHosts ? { known_hosts: expandPath(flags.knownHosts, cwd) } : {}),
    ...(flags.fingerprint ? { fingerprint: flags.fingerprint } : {}),
    ...(flags.insecureIgnoreHostKey ? { insecure_ignore_host_key: true } : {}),
  };
}

/** `~/x` → home; relative → against `baseDir`. Local paths only (keys, known_hosts). */
function expandPath(path: string, baseDir: string): string {
  if (path === '~' || path.startsWith('~/')) return join(homedir(), path.slice(1));
  return isAbsolute(path) ? path : resolve(baseDir, path);
}
