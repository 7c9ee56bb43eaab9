import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { sshArgs, writeLoginFiles } from '../../src/reach/login.js';
import { tempDir } from '../support/fixtures.js';

const login = {
  ssh: { address: '10.203.0.1', port: 2222, user: 'ci' },
  knownHostsLine: '[10.203.0.1]:2222 ssh-ed25519 AAAAC3Nza',
  dir: '/srv/sandboxer/sbx-abc',
};

describe('writeLoginFiles: what ssh(1) and docker need to reach a sandbox', () => {
  test('key text is written 0600 in a 0700 directory; the config pins the host key and the key', () => {
    const dir = join(tempDir(), 'ssh dir');
    const files = writeLoginFiles(dir, 'abc123def456', {
      ...login,
      key: { text: '-----BEGIN OPENSSH PRIVATE KEY-----\nxyz\n-----END OPENSSH PRIVATE KEY-----' },
    });
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    const keyFile = files.keyFile as string;
    for (const file of [files.config, keyFile, files.knownHosts]) {
      expect(statSync(file).mode & 0o777).toBe(0o600);
    }
    expect(readFileSync(keyFile, 'utf8')).toMatch(/END OPENSSH PRIVATE KEY-----\n$/);
    expect(readFileSync(files.knownHosts, 'utf8')).toBe(`${login.knownHostsLine}\n`);
    const config = readFileSync(files.config, 'utf8');
    expect(files.alias).toBe('sbx-abc123def456');
    expect(config).toContain('Host sbx-abc123def456\n  HostName 10.203.0.1\n  Port 2222\n  User ci\n');
    // A path with a space is quoted, as ssh_config wants it.
    expect(config).toContain(`IdentityFile "${files.keyFile}"`);
    expect(config).toContain(`UserKnownHostsFile "${files.knownHosts}"`);
    expect(config).toContain('StrictHostKeyChecking yes');
    expect(config).toContain('IdentitiesOnly yes');
  });

  test('an identity file is referred to as it is, not copied', () => {
    const dir = tempDir();
    const files = writeLoginFiles(dir, 'abc123def456', {
      ...login,
      key: { file: '/home/me/.ssh/id_ed25519' },
    });
    expect(files.keyFile).toBe('/home/me/.ssh/id_ed25519');
    expect(readFileSync(files.config, 'utf8')).toContain('IdentityFile /home/me/.ssh/id_ed25519\n');
  });

  test('with an ssh-agent: no key file, the agent named', () => {
    const dir = join(tempDir('sbx-login-'), 'login');
    const files = writeLoginFiles(dir, 'abc123def456', { ...login, key: { agent: '/run/agent.sock' } });
    expect(files.keyFile).toBeUndefined();
    const config = readFileSync(files.config, 'utf8');
    expect(config).toContain('IdentityAgent /run/agent.sock\n');
    expect(config).not.toContain('IdentityFile');
  });
});

describe('sshArgs', () => {
  const files = { config: '/c', alias: 'sbx-a', knownHosts: '/k', keyFile: '/key', dir: "/srv/it's here" };

  test('a shell: a terminal, in the sandbox directory', () => {
    expect(sshArgs(files)).toEqual([
      '-F',
      '/c',
      '-t',
      'sbx-a',
      `cd '/srv/it'\\''s here' && exec "\${SHELL:-/bin/sh}" -l`,
    ]);
  });

  test('one command: every argument quoted for the remote shell, no terminal', () => {
    expect(sshArgs(files, ['printf', '%s\\n', 'a b', '$HOME;rm -rf /'])).toEqual([
      '-F',
      '/c',
      '-T',
      'sbx-a',
      `cd '/srv/it'\\''s here' && printf '%s\\n' 'a b' '$HOME;rm -rf /'`,
    ]);
  });
});
