import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { sandboxer } from './support/cli.js';
import { allSandboxLeftovers } from './support/docker.js';
import { type Sshd, secondSshd, startSshd, stopSshd } from './support/faults.js';
import { loadTestbed, type Testbed } from './support/testbed.js';

/**
 * Hosts as the user's ~/.ssh/config names them (issue 19): `--host <Host alias>` takes HostName,
 * User, Port and IdentityFile from it, and a ProxyJump host is gone through for every connection,
 * rsync's and ssh(1)'s included. The jump host is the testbed's second sshd (127.0.0.2); the
 * sandbox lands on the first (127.0.0.1).
 */

const fixtures = join(import.meta.dirname, '..', 'fixtures');
let testbed: Testbed;
let sshd2: Sshd;

/** A HOME whose ~/.ssh/config names the testbed host, directly and through the jump host. */
function homeWithSshConfig(): Record<string, string> {
  const home = mkdtempSync(join(tmpdir(), 'sbx-ssh-home-'));
  mkdirSync(join(home, '.ssh'), { mode: 0o700 });
  const host = [
    `  HostName ${testbed.host1}`,
    `  Port ${testbed.port}`,
    `  User ${testbed.user}`,
    `  IdentityFile ${testbed.key}`,
  ];
  writeFileSync(
    join(home, '.ssh', 'config'),
    [
      'Host sbx-direct',
      ...host,
      'Host sbx-behind',
      ...host,
      `  ProxyJump ${testbed.user}@${testbed.host2}:${testbed.port}`,
      '',
    ].join('\n'),
  );
  return {
    HOME: home,
    SANDBOXER_HOME: join(home, 'state'),
    SANDBOXER_HOSTS: '',
    SANDBOXER_SSH_KEY: '',
    SSH_AUTH_SOCK: '',
    SANDBOXER_COMPOSE_CMD: 'docker-compose',
  };
}

const create = (env: Record<string, string>, host: string) =>
  sandboxer(
    [
      'create',
      '-p',
      'compose-e2e',
      '-i',
      `repo=${join(fixtures, 'compose-http')}`,
      '--host',
      host,
      '--known-hosts',
      testbed.knownHosts,
      '--json',
    ],
    env,
  );

beforeAll(() => {
  testbed = loadTestbed();
  sshd2 = secondSshd(testbed);
});

afterAll(async () => {
  await startSshd(sshd2);
  expect(allSandboxLeftovers([testbed.sandboxBase])).toEqual([]);
});

describe('SSH flags on a sandbox made earlier', () => {
  test('destroy --identity-file logs in with that key, whatever key created the sandbox', () => {
    const home = mkdtempSync(join(tmpdir(), 'sbx-ssh-flags-'));
    const oldKey = join(home, 'old_key');
    copyFileSync(testbed.key, oldKey);
    chmodSync(oldKey, 0o600);
    writeFileSync(
      join(home, 'hosts.yaml'),
      `hosts:\n  docker1: { address: ${testbed.host1}, port: ${testbed.port}, user: ${testbed.user}, identity_file: ${oldKey}, known_hosts: ${testbed.knownHosts} }\n`,
    );
    const env = {
      SANDBOXER_HOME: home,
      SANDBOXER_HOSTS: join(home, 'hosts.yaml'),
      SANDBOXER_SSH_KEY: '',
      SSH_AUTH_SOCK: '',
      SANDBOXER_COMPOSE_CMD: 'docker-compose',
    };
    const created = sandboxer(
      [
        'create',
        '-p',
        'compose-e2e',
        '-i',
        `repo=${join(fixtures, 'compose-http')}`,
        '--host',
        'docker1',
        '--json',
      ],
      env,
    );
    expect(created.code, created.stderr).toBe(0);
    rmSync(oldKey); // the key it was made with is gone (rotated, another machine)
    const without = sandboxer(['destroy', created.json.id], env);
    expect(without.code).not.toBe(0);
    expect(without.stderr).toContain(`cannot read SSH key file ${oldKey}`);
    const withFlag = sandboxer(['destroy', created.json.id, '--identity-file', testbed.key], env);
    expect(withFlag.code, withFlag.stderr).toBe(0);
    expect(sandboxer(['status', created.json.id, '--json'], env).json.state).toBe('destroyed');
  });
});

describe('~/.ssh/config', () => {
  test('a Host alias: address, user, port and key from the config; create, exec, destroy', () => {
    const env = homeWithSshConfig();
    const created = create(env, 'sbx-direct');
    expect(created.code, created.stderr).toBe(0);
    expect(created.json.host).toBe(`${testbed.user}@${testbed.host1}:${testbed.port}`);
    expect(sandboxer(['destroy', created.json.id, '--known-hosts', testbed.knownHosts], env).code).toBe(0);
  });

  test('ProxyJump: the repo is synced, commands run and ssh(1) logs in through the jump host; without it, nothing works', async () => {
    const env = homeWithSshConfig();
    const created = create(env, 'sbx-behind');
    expect(created.code, created.stderr).toBe(0);
    const id = created.json.id as string;
    expect(created.json.target.ssh.jump).toMatchObject({ address: testbed.host2, port: testbed.port });
    expect(readdirSync(created.json.reachability.remote_dir)).toContain('docker-compose.yml');
    const flags = ['--known-hosts', testbed.knownHosts];
    const viaSsh = sandboxer(['ssh', id, ...flags, '--', 'cat', 'docker-compose.yml'], env);
    expect(viaSsh.code, viaSsh.stderr).toBe(0);
    expect(viaSsh.stdout).toContain('services');
    // The jump host down: the same host cannot be reached, which proves every path went through it.
    await stopSshd(sshd2);
    try {
      const exec = sandboxer(['exec', id, ...flags, '--', 'true'], env);
      expect(exec.code).toBe(125);
      expect(exec.stderr).toContain(`cannot reach ${testbed.host2}:${testbed.port}`);
      const refused = create(env, 'sbx-behind');
      expect(refused.code).not.toBe(0);
      expect(refused.stderr).toContain(`cannot reach ${testbed.host2}:${testbed.port}`);
    } finally {
      await startSshd(sshd2);
    }
    const destroyed = sandboxer(['destroy', id, ...flags], env);
    expect(destroyed.code, destroyed.stderr).toBe(0);
  });
});
