import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LoginTarget } from '../extensions/contract.js';
import type { SshTarget } from '../records/host-target.js';
import { quote } from '../ssh/quote.js';

/** The files with which ssh(1) (and docker over ssh://) logs in to a sandbox's host. */
export interface LoginFiles {
  /** An ssh_config with one `Host` entry, the alias below. */
  config: string;
  /** `sbx-<id>`: `ssh -F <config> sbx-<id>`, `docker -H ssh://sbx-<id>`. */
  alias: string;
  knownHosts: string;
  /** The key file used: the identity file as it is, or a private copy of key text; none with an agent. */
  keyFile?: string;
  /** The sandbox's directory on the host. */
  dir: string;
}

/**
 * Writes, in a private directory (0700; files 0600): an ssh_config for the sandbox's host, a
 * known_hosts with exactly the host key that was verified, and — for key text — the key.
 */
export function writeLoginFiles(dir: string, sandboxId: string, login: LoginTarget): LoginFiles {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const keyFile = 'file' in login.key ? login.key.file : 'text' in login.key ? join(dir, 'key') : undefined;
  if ('text' in login.key && keyFile !== undefined) {
    writeFileSync(keyFile, login.key.text.endsWith('\n') ? login.key.text : `${login.key.text}\n`, {
      mode: 0o600,
    });
  }
  const knownHosts = join(dir, 'known_hosts');
  const lines = [login.knownHostsLine, ...(login.jumpKnownHostsLine ? [login.jumpKnownHostsLine] : [])];
  writeFileSync(knownHosts, `${lines.join('\n')}\n`, { mode: 0o600 });
  const alias = `sbx-${sandboxId}`;
  const config = join(dir, 'ssh_config');
  const { ssh } = login;
  writeFileSync(
    config,
    [
      `# sand-boxer: sandbox ${sandboxId} (its directory on the host: ${login.dir})`,
      `Host ${alias}`,
      `  HostName ${ssh.address}`,
      `  Port ${ssh.port}`,
      `  User ${ssh.user}`,
      ...(keyFile !== undefined
        ? [`  IdentityFile ${quoteConfig(keyFile)}`, '  IdentitiesOnly yes']
        : [`  IdentityAgent ${quoteConfig((login.key as { agent: string }).agent)}`]),
      `  UserKnownHostsFile ${quoteConfig(knownHosts)}`,
      ...(ssh.jump ? [`  ProxyCommand ${jumpCommand(ssh.jump, keyFile, login.key, knownHosts)}`] : []),
      '  StrictHostKeyChecking yes',
      '  BatchMode yes',
      '',
    ].join('\n'),
    { mode: 0o600 },
  );
  return { config, alias, knownHosts, ...(keyFile !== undefined ? { keyFile } : {}), dir: login.dir };
}

/** ssh(1)'s argv for a shell in the sandbox's directory (with a terminal), or for one command in it. */
export function sshArgs(files: LoginFiles, command: string[] = []): string[] {
  const cd = `cd ${quote(files.dir)}`;
  const remote =
    command.length > 0 ? `${cd} && ${command.map(quote).join(' ')}` : `${cd} && exec "\${SHELL:-/bin/sh}" -l`;
  return ['-F', files.config, ...(command.length > 0 ? ['-T'] : ['-t']), files.alias, remote];
}

/** ssh_config quotes a value that holds spaces in double quotes. */
/**
 * ssh's own ProxyJump would log in to the jump host with the default identities and known_hosts, so
 * the ProxyCommand spells out the same key and the known_hosts that lists the jump host's key.
 */
function jumpCommand(
  jump: SshTarget,
  keyFile: string | undefined,
  key: LoginTarget['key'],
  knownHosts: string,
): string {
  const login =
    keyFile !== undefined
      ? ['-i', keyFile, '-o', 'IdentitiesOnly=yes']
      : ['-o', `IdentityAgent=${(key as { agent: string }).agent}`];
  const address = jump.address.includes(':') ? `[${jump.address}]` : jump.address;
  const words = [
    'ssh',
    '-F',
    '/dev/null',
    '-p',
    String(jump.port),
    ...login,
    '-o',
    `UserKnownHostsFile=${knownHosts}`,
    '-o',
    'StrictHostKeyChecking=yes',
    '-o',
    'BatchMode=yes',
    '-W',
    '[%h]:%p',
    `${jump.user}@${address}`,
  ];
  return words.map(quote).join(' ');
}

function quoteConfig(value: string): string {
  return /[\s"]/.test(value) ? `"${value.replace(/"/g, '')}"` : value;
}
