import { existsSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { type HostEntry, type HostsFile, hostsFileSchema } from '../declarations/hosts-schema.js';
import { parseDeclaration, readDeclarationFile } from '../declarations/read.js';
import { ConfigError, InputError } from '../errors.js';
import type { RemoteHost, SshTarget } from '../records/host-target.js';
import { destination, parseDestination } from '../ssh/target.js';

/** Per-invocation SSH settings from the command line (or action inputs); they override the hosts file. */
export interface HostFlags {
  identityFile?: string;
  knownHosts?: string;
  fingerprint?: string;
  insecureIgnoreHostKey?: boolean;
}

/** `$SANDBOXER_HOSTS`, else `./.sandboxer/hosts.yaml` if it exists. */
export function defaultHostsFile(cwd: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.SANDBOXER_HOSTS) return env.SANDBOXER_HOSTS;
  const local = join(cwd, '.sandboxer', 'hosts.yaml');
  return existsSync(local) ? local : undefined;
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
  if (parsed.default !== undefined && !Object.hasOwn(parsed.hosts, parsed.default)) {
    throw new ConfigError(
      `${source.displayPath}: default: "${parsed.default}" is not one of the hosts (${Object.keys(parsed.hosts).join(', ')})`,
    );
  }
  return { ...parsed, path };
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
  if (!chosen.includes('@')) {
    const known = hostsFile ? Object.keys(hostsFile.hosts).join(', ') || 'none' : 'no hosts file';
    throw new InputError(`unknown host "${chosen}": not an alias (${known}) and not user@address[:port]`, {
      field: 'host',
      host: chosen,
    });
  }
  const parsed = parseDestination(chosen);
  const ssh: SshTarget = {
    address: parsed.address,
    port: parsed.port ?? 22,
    user: parsed.user,
    ...sshFlags(flags, cwd),
  };
  if (!ssh.known_hosts && !ssh.fingerprint && !ssh.insecure_ignore_host_key) {
    ssh.known_hosts = join(homedir(), '.ssh', 'known_hosts');
  }
  return { name: destination(ssh), ssh, labels: [] };
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
  };
}

function sshFlags(flags: HostFlags, cwd: string): Partial<SshTarget> {
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
