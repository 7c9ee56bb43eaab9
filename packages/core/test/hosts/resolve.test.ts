import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import type { HostsFile } from '../../src/declarations/hosts-schema.js';
import { ConfigError, InputError } from '../../src/errors.js';
import { defaultHostsFile, loadHostsFile, resolveRemoteHost } from '../../src/hosts/resolve.js';
import { tempDir } from '../support/fixtures.js';

const FINGERPRINT = 'SHA256:DMPY96Fyo7WHoMArWONfgJl8NzU37/T3Y6ElScnUJYc';

/** Writes `hosts.yaml` into a fresh directory and returns its path. */
function hostsYaml(text: string): string {
  const dir = tempDir('sbx-hosts-');
  const path = join(dir, 'hosts.yaml');
  writeFileSync(path, text);
  return path;
}

/** Loads a hosts file with its own directory as cwd (so messages show `hosts.yaml`) and returns the error. */
async function loadFailure(text: string): Promise<Error> {
  const path = hostsYaml(text);
  const error = await loadHostsFile(path, join(path, '..')).then(
    () => new Error('expected the load to fail'),
    (e: Error) => e,
  );
  return error;
}

const ENTRY = 'hosts:\n  docker-1:\n    address: 10.0.0.5\n    user: deploy\n';

let home: string;
beforeEach(() => {
  home = tempDir('sbx-home-');
  vi.stubEnv('HOME', home);
});
afterEach(() => {
  vi.unstubAllEnvs();
});

describe('loadHostsFile', () => {
  test('a full file loads, with defaults filled in', async () => {
    const path = hostsYaml(`default: docker-1
hosts:
  docker-1:
    address: 10.0.0.5
    port: 2222
    user: deploy
    identity_file: keys/id_ed25519
    known_hosts: ~/.ssh/known_hosts
    fingerprint: ${FINGERPRINT}
    base_dir: /srv/sandboxer
    capacity: 4
    labels: [docker, big]
  vm:
    address: vm.example.com
    user: ci
    insecure_ignore_host_key: true
`);
    const file = await loadHostsFile(path);
    expect(file).toEqual({
      path,
      default: 'docker-1',
      hosts: {
        'docker-1': {
          address: '10.0.0.5',
          port: 2222,
          user: 'deploy',
          identity_file: 'keys/id_ed25519',
          known_hosts: '~/.ssh/known_hosts',
          fingerprint: FINGERPRINT,
          insecure_ignore_host_key: false,
          base_dir: '/srv/sandboxer',
          capacity: 4,
          labels: ['docker', 'big'],
        },
        vm: { address: 'vm.example.com', port: 22, user: 'ci', insecure_ignore_host_key: true, labels: [] },
      },
      pools: {},
    });
  });

  test('a missing file names the file and SANDBOXER_HOSTS', async () => {
    const path = join(tempDir('sbx-hosts-'), 'nope.yaml');
    await expect(loadHostsFile(path)).rejects.toThrow(ConfigError);
    await expect(loadHostsFile(path)).rejects.toThrow(`hosts file ${path} does not exist`);
  });

  test.each([
    [
      'bad YAML, with line and column',
      'hosts:\n  a: [\n',
      /^hosts\.yaml:3:1: YAML syntax error: Flow sequence in block collection/,
    ],
    ['an empty file', '', 'hosts.yaml: expected a mapping of fields (key: value), got an empty file'],
    ['a list', '- a\n', 'hosts.yaml: expected a mapping of fields (key: value), got a list'],
    ['no hosts', 'default: a\n', 'hosts.yaml: hosts: Invalid input: expected record, received undefined'],
    [
      'an unknown host key',
      `${ENTRY}    bogus: 1\n`,
      'hosts.yaml: hosts.docker-1: Unrecognized key: "bogus"',
    ],
    ['an unknown top-level key', `${ENTRY}hots: {}\n`, 'hosts.yaml: (top level): Unrecognized key: "hots"'],
    [
      'a port out of range',
      `${ENTRY}    port: 70000\n`,
      'hosts.yaml: hosts.docker-1.port: Too big: expected number to be <=65535',
    ],
    [
      'port 0',
      `${ENTRY}    port: 0\n`,
      'hosts.yaml: hosts.docker-1.port: Too small: expected number to be >=1',
    ],
    [
      'a port as a string',
      `${ENTRY}    port: "22"\n`,
      'hosts.yaml: hosts.docker-1.port: Invalid input: expected number, received string',
    ],
    [
      'an MD5 fingerprint',
      `${ENTRY}    fingerprint: MD5:aa:bb\n`,
      'hosts.yaml: hosts.docker-1.fingerprint: expected "SHA256:<43 base64 characters>" as printed by ssh-keygen -lf',
    ],
    [
      'a truncated fingerprint',
      `${ENTRY}    fingerprint: ${FINGERPRINT.slice(0, -1)}\n`,
      'hosts.yaml: hosts.docker-1.fingerprint: expected "SHA256:<43 base64 characters>" as printed by ssh-keygen -lf',
    ],
    [
      'a bad user',
      'hosts:\n  a:\n    address: h\n    user: "u;rm"\n',
      'hosts.yaml: hosts.a.user: expected a user name like "deploy"',
    ],
    [
      'a missing address',
      'hosts:\n  a:\n    user: u\n',
      'hosts.yaml: hosts.a.address: Invalid input: expected string, received undefined',
    ],
    [
      'a default naming a missing alias',
      `default: docker-2\n${ENTRY}`,
      'hosts.yaml: default: "docker-2" is not one of the hosts or pools (docker-1)',
    ],
    [
      'a tab as indentation',
      'hosts:\n\tdocker-1:\n',
      /^hosts\.yaml:2:1: YAML syntax error: Tabs are not allowed as indentation/,
    ],
    [
      'labels as a string',
      `${ENTRY}    labels: docker\n`,
      'hosts.yaml: hosts.docker-1.labels: Invalid input: expected array, received string',
    ],
    [
      'insecure_ignore_host_key as a string',
      `${ENTRY}    insecure_ignore_host_key: "yes"\n`,
      'hosts.yaml: hosts.docker-1.insecure_ignore_host_key: Invalid input: expected boolean, received string',
    ],
    [
      'a list where the hosts mapping belongs',
      'hosts: [a]\n',
      'hosts.yaml: hosts: Invalid input: expected record, received array',
    ],
    [
      'a huge file, refused by its size before it is read',
      `${ENTRY}# ${'x'.repeat(300 * 1024)}\n`,
      /^hosts\.yaml: file is \d+ bytes, larger than the 262144-byte limit for a declaration$/,
    ],
    ['a bad alias', 'hosts:\n  "a b":\n    address: h\n    user: u\n', /^hosts\.yaml: hosts\.a b: /],
    [
      'a repeated alias',
      `${ENTRY}  docker-1:\n    address: h\n    user: u\n`,
      /^hosts\.yaml:\d+:\d+: YAML syntax error: Map keys must be unique/,
    ],
  ])('%s', async (_name, text, expected) => {
    const error = await loadFailure(text);
    expect(error).toBeInstanceOf(ConfigError);
    if (typeof expected === 'string') expect(error.message).toBe(expected);
    else expect(error.message).toMatch(expected);
  });

  test('a file outside cwd is named by its absolute path', async () => {
    const path = hostsYaml(`${ENTRY}    port: 0\n`);
    await expect(loadHostsFile(path, tempDir())).rejects.toThrow(`${path}: hosts.docker-1.port: Too small`);
  });

  test.each([['-oProxyCommand=touch /tmp/pwned'], ['h;rm -rf ~'], ['h name']])(
    'refuses the address %j like --host does',
    async (address) => {
      const error = await loadFailure(`hosts:\n  a:\n    address: ${JSON.stringify(address)}\n    user: u\n`);
      expect(error).toBeInstanceOf(ConfigError);
      expect(error.message).toMatch(/^hosts\.yaml: hosts\.a\.address: /);
    },
  );

  test('a bad alias says what an alias looks like', async () => {
    const error = await loadFailure('hosts:\n  "a b":\n    address: h\n    user: u\n');
    expect(error.message).toBe('hosts.yaml: hosts.a b: expected an alias like "docker-1"');
  });

  test('a directory is a ConfigError naming it', async () => {
    const dir = tempDir('sbx-hosts-');
    mkdirSync(join(dir, 'hosts.yaml'));
    await expect(loadHostsFile(join(dir, 'hosts.yaml'), dir)).rejects.toThrow(ConfigError);
  });
});

describe('defaultHostsFile', () => {
  test('SANDBOXER_HOSTS wins, then ./.sandboxer/hosts.yaml, else none', () => {
    const cwd = tempDir('sbx-cwd-');
    expect(defaultHostsFile(cwd, {})).toBeUndefined();
    mkdirSync(join(cwd, '.sandboxer'));
    writeFileSync(join(cwd, '.sandboxer', 'hosts.yaml'), ENTRY);
    expect(defaultHostsFile(cwd, {})).toBe(join(cwd, '.sandboxer', 'hosts.yaml'));
    expect(defaultHostsFile(cwd, { SANDBOXER_HOSTS: '/etc/hosts.yaml' })).toBe('/etc/hosts.yaml');
  });
});

describe('resolveRemoteHost', () => {
  async function load(text: string): Promise<HostsFile & { path: string }> {
    return loadHostsFile(hostsYaml(text));
  }

  test('an alias: relative paths resolve against the hosts file directory, ~/ against HOME', async () => {
    const file = await load(`hosts:
  docker-1:
    address: 10.0.0.5
    port: 2222
    user: deploy
    identity_file: keys/id_ed25519
    known_hosts: ~/.ssh/known_hosts_sbx
    base_dir: /srv/sandboxer
    capacity: 3
    labels: [docker]
`);
    const dir = join(file.path, '..');
    expect(resolveRemoteHost('docker-1', file)).toEqual({
      name: 'docker-1',
      ssh: {
        address: '10.0.0.5',
        port: 2222,
        user: 'deploy',
        identity_file: join(dir, 'keys', 'id_ed25519'),
        known_hosts: join(home, '.ssh', 'known_hosts_sbx'),
      },
      base_dir: '/srv/sandboxer',
      capacity: 3,
      labels: ['docker'],
    });
  });

  test.each<[string, (home: string, dir: string) => string]>([
    ['~', (home) => home],
    ['~/id', (home) => join(home, 'id')],
    ['/abs/id', () => '/abs/id'],
    ['../up/id', (_home, dir) => resolve(dir, '..', 'up', 'id')],
    ['./id', (_home, dir) => join(dir, 'id')],
    ['~user/id', (_home, dir) => join(dir, '~user', 'id')],
  ])('identity_file %j', async (value, expected) => {
    const file = await load(
      `hosts:\n  a:\n    address: h\n    user: u\n    identity_file: ${JSON.stringify(value)}\n`,
    );
    expect(resolveRemoteHost('a', file)?.ssh.identity_file).toBe(expected(home, join(file.path, '..')));
  });

  test('a pinned fingerprint or insecure mode keeps the default known_hosts out', async () => {
    const file = await load(`hosts:
  pinned:
    address: h
    user: u
    fingerprint: ${FINGERPRINT}
  insecure:
    address: h
    user: u
    insecure_ignore_host_key: true
`);
    expect(resolveRemoteHost('pinned', file)?.ssh).toEqual({
      address: 'h',
      port: 22,
      user: 'u',
      fingerprint: FINGERPRINT,
    });
    expect(resolveRemoteHost('insecure', file)?.ssh).toEqual({
      address: 'h',
      port: 22,
      user: 'u',
      insecure_ignore_host_key: true,
    });
  });

  test('with nothing to verify the host key with, ~/.ssh/known_hosts is used', async () => {
    const file = await load(ENTRY);
    expect(resolveRemoteHost('docker-1', file)?.ssh).toEqual({
      address: '10.0.0.5',
      port: 22,
      user: 'deploy',
      known_hosts: join(home, '.ssh', 'known_hosts'),
    });
    expect(resolveRemoteHost('u@h', undefined)?.ssh.known_hosts).toBe(join(home, '.ssh', 'known_hosts'));
  });

  test('the default alias is used without --host; nothing at all gives undefined', async () => {
    const file = await load(`default: docker-1\n${ENTRY}`);
    expect(resolveRemoteHost(undefined, file)?.name).toBe('docker-1');
    expect(resolveRemoteHost(undefined, await load(ENTRY))).toBeUndefined();
    expect(resolveRemoteHost(undefined, undefined)).toBeUndefined();
  });

  test('an inline user@address:port with flags (relative flag paths resolve against cwd)', () => {
    expect(
      resolveRemoteHost('sbxtest@127.0.0.2:2222', undefined, {
        identityFile: 'keys/id',
        knownHosts: '~/kh',
      }),
    ).toEqual({
      name: 'sbxtest@127.0.0.2:2222',
      ssh: {
        address: '127.0.0.2',
        port: 2222,
        user: 'sbxtest',
        identity_file: resolve(process.cwd(), 'keys/id'),
        known_hosts: join(home, 'kh'),
      },
      labels: [],
    });
  });

  test.each([
    ['u@h', { address: 'h', port: 22, user: 'u' }, 'u@h:22'],
    ['u@[::1]:2200', { address: '::1', port: 2200, user: 'u' }, 'u@[::1]:2200'],
  ])('inline %s', (text, ssh, name) => {
    const host = resolveRemoteHost(text, undefined, { fingerprint: FINGERPRINT });
    expect(host).toEqual({ name, ssh: { ...ssh, fingerprint: FINGERPRINT }, labels: [] });
  });

  test('an inline host is used even with a hosts file, and an alias wins over nothing else', async () => {
    const file = await load(`default: docker-1\n${ENTRY}`);
    expect(resolveRemoteHost('ci@10.0.0.6', file, { insecureIgnoreHostKey: true })).toEqual({
      name: 'ci@10.0.0.6:22',
      ssh: { address: '10.0.0.6', port: 22, user: 'ci', insecure_ignore_host_key: true },
      labels: [],
    });
  });

  test('flags override the hosts file entry', async () => {
    const file = await load(`hosts:
  a:
    address: h
    user: u
    identity_file: keys/id
    known_hosts: kh
`);
    expect(
      resolveRemoteHost('a', file, {
        identityFile: '/flag/id',
        knownHosts: '/flag/kh',
        fingerprint: FINGERPRINT,
      })?.ssh,
    ).toEqual({
      address: 'h',
      port: 22,
      user: 'u',
      identity_file: '/flag/id',
      known_hosts: '/flag/kh',
      fingerprint: FINGERPRINT,
    });
  });

  test.each([[{ knownHosts: '/flag/kh' }], [{ fingerprint: FINGERPRINT }]])(
    'a verification flag %j turns off the entry insecure mode',
    async (flags) => {
      const file = await load(
        'hosts:\n  a:\n    address: h\n    user: u\n    insecure_ignore_host_key: true\n',
      );
      expect(resolveRemoteHost('a', file, flags)?.ssh.insecure_ignore_host_key).toBeFalsy();
    },
  );

  test.each([
    [
      'an unknown alias with a hosts file',
      'nope',
      true,
      'unknown host "nope": not an alias (docker-1), not a Host of ~/.ssh/config and not user@address[:port]',
    ],
    [
      'an alias without a hosts file',
      'docker-1',
      false,
      'unknown host "docker-1": not an alias (no hosts file), not a Host of ~/.ssh/config and not user@address[:port]',
    ],
  ])('%s', async (_name, host, withFile, message) => {
    const file = withFile ? await load(ENTRY) : undefined;
    expect(() => resolveRemoteHost(host, file)).toThrow(InputError);
    expect(() => resolveRemoteHost(host, file)).toThrow(message);
  });

  test('an empty hosts map says none', async () => {
    const file = await load('hosts: {}\n');
    expect(() => resolveRemoteHost('x', file)).toThrow(
      'unknown host "x": not an alias (none), not a Host of ~/.ssh/config and not user@address[:port]',
    );
  });

  test('an invalid inline destination is refused by parseDestination', () => {
    expect(() => resolveRemoteHost('u@-oProxyCommand=x', undefined)).toThrow(
      'host "u@-oProxyCommand=x": "-oProxyCommand=x" is not a valid host name or address',
    );
  });
});

describe('hosts of ~/.ssh/config, as ssh(1) reads them', () => {
  let home: string;
  const previous = process.env.HOME;
  beforeEach(() => {
    home = tempDir('sbx-ssh-config-');
    mkdirSync(join(home, '.ssh'));
    writeFileSync(
      join(home, '.ssh', 'config'),
      [
        'Host box',
        '  HostName 10.0.0.5',
        '  User deploy',
        '  Port 2222',
        '  IdentityFile ~/.ssh/box_key',
        'Host behind',
        '  HostName 10.9.0.1',
        '  ProxyJump jump@203.0.113.1',
        'Host *',
        '  ServerAliveInterval 30',
        '',
      ].join('\n'),
    );
    process.env.HOME = home;
  });
  afterEach(() => {
    process.env.HOME = previous;
  });

  test('a Host alias gives the address, user, port and key', () => {
    expect(resolveRemoteHost('box', undefined)?.ssh).toEqual({
      address: '10.0.0.5',
      port: 2222,
      user: 'deploy',
      identity_file: join(home, '.ssh', 'box_key'),
      known_hosts: join(home, '.ssh', 'known_hosts'),
    });
  });

  test('user@alias keeps the user given and takes the rest from the config; flags win', () => {
    const host = resolveRemoteHost('ci@box', undefined, { identityFile: '/keys/ci' }, '/');
    expect(host?.ssh).toMatchObject({
      address: '10.0.0.5',
      port: 2222,
      user: 'ci',
      identity_file: '/keys/ci',
    });
  });

  test('a name only `Host *` matches is still unknown', () => {
    expect(() => resolveRemoteHost('nowhere', undefined)).toThrow(
      /unknown host "nowhere": not an alias \(no hosts file\), not a Host of ~\/\.ssh\/config/,
    );
  });

  test('ProxyJump: one hop, verified against the same known_hosts, with the same key unless it has one', () => {
    const host = resolveRemoteHost('behind', undefined, { identityFile: '/keys/ci' }, '/');
    expect(host?.ssh).toMatchObject({
      address: '10.9.0.1',
      identity_file: '/keys/ci',
      jump: {
        address: '203.0.113.1',
        port: 22,
        user: 'jump',
        identity_file: '/keys/ci',
        known_hosts: join(home, '.ssh', 'known_hosts'),
      },
    });
    writeFileSync(join(home, '.ssh', 'config'), 'Host far\n  HostName 10.9.0.2\n  ProxyJump a,b\n');
    expect(() => resolveRemoteHost('far', undefined)).toThrow(/ProxyJump a,b has more than one hop/);
  });
});
