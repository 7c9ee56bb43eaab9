import { readFileSync } from 'node:fs';
import { homedir, userInfo } from 'node:os';
import { join } from 'node:path';
import SSHConfig from 'ssh-config';
import { ConfigError } from '../errors.js';

/** What `~/.ssh/config` says about a host name, as OpenSSH would read it (first value wins). */
export interface SshConfigHost {
  address: string;
  user: string;
  port?: number;
  identityFile?: string;
  /** `ProxyJump`, as written (`user@jump:port`). */
  proxyJump?: string;
}

/** Options that make a `Host` block about this name rather than a `Host *` default for every host. */
const SPECIFIC = ['HostName', 'User', 'Port', 'IdentityFile', 'ProxyJump'];

/**
 * The `Host` entry of the user's ssh config that names `name` (with `HostName`, `User`, `Port`,
 * `IdentityFile` or `ProxyJump`), or undefined when none does or there is no config. Parsed with the
 * `ssh-config` package (Host patterns, Match, first-value-wins as ssh(1) does).
 */
export function lookupSshConfig(
  name: string,
  path = join(homedir(), '.ssh', 'config'),
): SshConfigHost | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
  let computed: Record<string, string | string[]>;
  try {
    computed = SSHConfig.parse(text).compute(name);
  } catch (error) {
    throw new ConfigError(`${path}: cannot read it as an ssh config (${(error as Error).message})`, {
      field: 'ssh_config',
    });
  }
  if (!SPECIFIC.some((key) => computed[key] !== undefined)) return undefined;
  const first = (key: string) => {
    const value = computed[key];
    return Array.isArray(value) ? value[0] : value;
  };
  const port = first('Port');
  const identityFile = first('IdentityFile');
  const proxyJump = first('ProxyJump');
  return {
    address: first('HostName') ?? name,
    user: first('User') ?? userInfo().username,
    ...(port !== undefined ? { port: Number(port) } : {}),
    ...(identityFile !== undefined ? { identityFile: expandTokens(identityFile, name) } : {}),
    ...(proxyJump !== undefined && proxyJump !== 'none' ? { proxyJump } : {}),
  };
}

/** `~`, `%d` (home) and `%h` (the host) in an IdentityFile, the tokens configs commonly use. */
function expandTokens(path: string, host: string): string {
  const home = homedir();
  return path
    .replace(/^~(?=\/|$)/, home)
    .replaceAll('%d', home)
    .replaceAll('%h', host)
    .replaceAll('%%', '%');
}
