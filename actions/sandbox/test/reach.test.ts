import { existsSync, mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LoginTarget, SandboxManager } from '@sand-boxer/core';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { getInputs, parseForward } from '../src/inputs.js';
import { isKeeper } from '../src/keeper.js';
import { removeSshConfig, writeSshConfig } from '../src/ssh-config.js';

describe('input "forward"', () => {
  test.each([
    ['', []],
    ['all', ['*']],
    ['web:8080', ['web:8080']],
    ['web:8080\ndb:5432\n# a comment\n', ['web:8080', 'db:5432']],
    ['web:8080, db:5432', ['web:8080', 'db:5432']],
    ['tunnel\n8080', ['tunnel', '8080']],
  ])('%j → %j', (text, names) => {
    expect(parseForward(text)).toEqual(names);
  });

  test.each(['web:8080 db:5432', 'all\nweb:8080', 'web:80:80', '$(id)', 'web;id'])(
    '%j is an error naming the input',
    (text) => {
      expect(() => parseForward(text)).toThrow(/^input "forward": expected "all" or lines of service:port/);
    },
  );

  afterEach(() => {
    for (const key of Object.keys(process.env)) if (key.startsWith('INPUT_')) delete process.env[key];
  });

  test('with ssh-config and wait-for, as getInputs reads them', () => {
    process.env.INPUT_PROFILE = 'compose-e2e';
    process.env.INPUT_FORWARD = 'all';
    process.env['INPUT_SSH-CONFIG'] = 'true';
    process.env['INPUT_WAIT-FOR'] = 'http://web:8080/health\ntcp://db:5432\n';
    expect(getInputs()).toMatchObject({
      forward: ['*'],
      sshConfig: true,
      waitFor: ['http://web:8080/health', 'tcp://db:5432'],
    });
    process.env['INPUT_SSH-CONFIG'] = 'yes';
    expect(() => getInputs()).toThrow('input "ssh-config": expected true or false, got "yes"');
  });
});

describe('the keeper is this bundle started with --keeper', () => {
  test.each([
    [['node', 'dist/index.js'], false],
    [['node', 'dist/index.js', '--keeper', 'abc123def456'], true],
  ])('%j', (argv, expected) => {
    expect(isKeeper(argv)).toBe(expected);
  });
});

describe('ssh-config: login files for later steps, included from ~/.ssh/config, removed in post', () => {
  const home = process.env.HOME;
  let fakeHome: string;
  beforeEach(() => {
    fakeHome = mkdtempSync(join(tmpdir(), 'sbx-home-'));
    process.env.HOME = fakeHome;
  });
  afterEach(() => {
    process.env.HOME = home;
  });

  const login: LoginTarget = {
    ssh: { address: '10.203.0.1', port: 2222, user: 'ci' },
    knownHostsLine: '[10.203.0.1]:2222 ssh-ed25519 AAAA',
    key: { text: 'KEY TEXT' },
    dir: '/srv/sandboxer/sbx-a',
  };
  const manager = { loginTarget: async () => login } as unknown as SandboxManager;

  test("the user's own config is kept after ours; post removes exactly what main added", async () => {
    mkdirSync(join(fakeHome, '.ssh'));
    writeFileSync(join(fakeHome, '.ssh', 'config'), 'Host mine\n  User me\n');
    const one = join(fakeHome, 'tmp', 'one');
    const two = join(fakeHome, 'tmp', 'two');
    const files = await writeSshConfig(manager, 'aaaaaaaaaaaa', one);
    await writeSshConfig(manager, 'bbbbbbbbbbbb', two);
    const config = readFileSync(join(fakeHome, '.ssh', 'config'), 'utf8');
    expect(config).toBe(
      [
        '# sand-boxer: sandbox bbbbbbbbbbbb (removed by the post step)',
        `Include ${join(two, 'ssh_config')}`,
        '# sand-boxer: sandbox aaaaaaaaaaaa (removed by the post step)',
        `Include ${files.config}`,
        'Host mine',
        '  User me',
        '',
      ].join('\n'),
    );
    expect(statSync(files.keyFile as string).mode & 0o777).toBe(0o600);
    removeSshConfig('aaaaaaaaaaaa', one);
    expect(existsSync(one)).toBe(false);
    expect(existsSync(two)).toBe(true);
    expect(readFileSync(join(fakeHome, '.ssh', 'config'), 'utf8')).toBe(
      [
        '# sand-boxer: sandbox bbbbbbbbbbbb (removed by the post step)',
        `Include ${join(two, 'ssh_config')}`,
        'Host mine',
        '  User me',
        '',
      ].join('\n'),
    );
    removeSshConfig('aaaaaaaaaaaa', one);
    removeSshConfig('bbbbbbbbbbbb', two);
    expect(readFileSync(join(fakeHome, '.ssh', 'config'), 'utf8')).toBe('Host mine\n  User me\n');
  });

  test('a config that only held our lines is removed; removing without a main step is harmless', async () => {
    const dir = join(fakeHome, 'tmp', 'one');
    await writeSshConfig(manager, 'aaaaaaaaaaaa', dir);
    removeSshConfig('aaaaaaaaaaaa', dir);
    expect(existsSync(join(fakeHome, '.ssh', 'config'))).toBe(false);
    removeSshConfig('aaaaaaaaaaaa', undefined);
  });
});
