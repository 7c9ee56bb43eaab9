import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { sandboxer } from './support/cli.js';
import { loadTestbed, type Testbed } from './support/testbed.js';

/**
 * ext.vm-packer (attach mode) against the testbed's second sshd, 127.0.0.2, which plays the
 * pre-built VM: the repo lands in <workspace_dir>/sbx-<id>/, destroy removes only that workspace.
 */

const sampleRepo = join(import.meta.dirname, '..', 'fixtures', 'sample-repo');
let testbed: Testbed;
let env: Record<string, string>;
/** Something else on the VM that must survive every destroy. */
let sentinel: string;

beforeAll(() => {
  testbed = loadTestbed();
  const home = mkdtempSync(join(tmpdir(), 'sbx-e2e-vm-'));
  const hostsFile = join(home, 'hosts.yaml');
  writeFileSync(
    hostsFile,
    `hosts:
  haskell-vm:
    address: ${testbed.host2}
    port: ${testbed.port}
    user: ${testbed.user}
    identity_file: ${testbed.key}
    known_hosts: ${testbed.knownHosts}
    labels: [vm, haskell]
`,
  );
  env = { SANDBOXER_HOME: home, SANDBOXER_HOSTS: hostsFile };
  sentinel = join(testbed.env.SANDBOXER_TESTBED_BUILD_DIR ?? '/build', `keep-me-${process.pid}`);
  writeFileSync(sentinel, 'VM state that is not the sandbox\n');
});

afterAll(() => {
  expect(readFileSync(sentinel, 'utf8')).toBe('VM state that is not the sandbox\n');
  expect(readdirSync('/build').filter((n) => n.startsWith('sbx-'))).toEqual([]);
});

describe('ext.vm-packer on the testbed VM (127.0.0.2)', () => {
  test('attach by hosts-file alias: the repo is in /build/sbx-<id>/; destroy removes only the workspace', () => {
    const created = sandboxer(
      ['create', '-p', 'vm-haskell-build', '-i', 'vm=haskell-vm', '-i', `repo=${sampleRepo}`, '--json'],
      env,
    );
    expect(created.code, created.stderr).toBe(0);
    const { id, reachability } = created.json;
    const workspace = `/build/sbx-${id}`;
    expect(reachability).toEqual({
      host: 'haskell-vm',
      ssh: `ssh://${testbed.user}@${testbed.host2}:${testbed.port}`,
      remote_dir: workspace,
    });
    expect(readFileSync(join(workspace, 'README.md'), 'utf8')).toContain('sample-repo');
    expect(existsSync(join(workspace, 'src', 'hello.js'))).toBe(true);

    const destroyed = sandboxer(['destroy', id, '--json'], env);
    expect(destroyed.code, destroyed.stderr).toBe(0);
    expect(destroyed.json.cleanup.removed).toEqual([`directory ${workspace}`]);
    expect(existsSync(workspace)).toBe(false);
    expect(existsSync(sentinel)).toBe(true);
  });

  test('attach by ssh_target and ssh_port, with a tunnel port and a configured workspace dir, tar sync', () => {
    const { SANDBOXER_HOSTS: _hosts, ...noHosts } = env;
    const created = sandboxer(
      [
        'create',
        '-p',
        'vm-haskell-build',
        '-i',
        `ssh_target=${testbed.user}@${testbed.host2}`,
        '-i',
        `ssh_port=${testbed.port}`,
        '-i',
        'tunnel_port=8443',
        '-i',
        'workspace_dir=/build',
        '-i',
        'sync_method=tar',
        '-i',
        `repo=${sampleRepo}`,
        '--identity-file',
        testbed.key,
        '--known-hosts',
        testbed.knownHosts,
        '--json',
      ],
      noHosts,
    );
    expect(created.code, created.stderr).toBe(0);
    const { id, reachability, host } = created.json;
    expect(host).toBe(`${testbed.user}@${testbed.host2}:${testbed.port}`);
    expect(reachability.endpoints).toEqual({ tunnel: `${testbed.host2}:8443` });
    // The tar path honours the same exclusions as rsync: .sandboxerignore's *.log is not copied.
    expect(readdirSync(`/build/sbx-${id}`).sort()).toEqual([
      '.sandboxer-sandbox.json',
      '.sandboxerignore',
      'README.md',
      'src',
    ]);
    expect(sandboxer(['destroy', id], noHosts).code).toBe(0);
    expect(existsSync(`/build/sbx-${id}`)).toBe(false);
  });

  test.each([
    [
      'neither vm nor ssh_target',
      [],
      /input "vm" \(a hosts-file alias\) or "ssh_target" \(user@address\[:port\]\) is required \(pass --input vm=<value> or --input ssh_target=<value>\)/,
    ],
    [
      'both vm and ssh_target',
      ['-i', 'vm=haskell-vm', '-i', 'ssh_target=u@h'],
      /either input "vm" or input "ssh_target", not both/,
    ],
    [
      'a workspace dir that climbs out',
      ['-i', 'vm=haskell-vm', '-i', 'workspace_dir=../../etc'],
      /must be an absolute, normalised path/,
    ],
    [
      'a workspace dir with a newline',
      ['-i', 'vm=haskell-vm', '-i', 'workspace_dir=/build\n/etc'],
      /must be an absolute, normalised path/,
    ],
    ['an unknown VM alias', ['-i', 'vm=nope'], /unknown host "nope": not an alias \(haskell-vm\)/],
  ])('%s is refused with a clear error', (_name, args, message) => {
    const result = sandboxer(['create', '-p', 'vm-haskell-build', ...args, '--json'], env);
    expect(JSON.parse(result.stdout).error.code).toBe('INPUT_INVALID');
    // Refused before anything was recorded, so nothing to roll back anywhere.
    expect(
      sandboxer(['list', '--all', '--json'], env).json.filter((r: { state: string }) => r.state === 'failed'),
    ).toEqual([]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(readdirSync('/build').filter((n) => n.startsWith('sbx-'))).toEqual([]);
  });
});
