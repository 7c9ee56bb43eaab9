import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { SshAccess } from '../../src/extensions/builtin/remote-workspace/ssh-access.js';
import type { SshTarget } from '../../src/records/host-target.js';
import { tempDir } from '../support/fixtures.js';

/** How SSH extensions decide how to log in: key text, identity file, agent, and this invocation's flags. */

const stored: SshTarget = {
  address: '10.0.0.5',
  port: 22,
  user: 'deploy',
  identity_file: '/old/key',
  known_hosts: '/old/known_hosts',
};

describe('SshAccess.checkAccess: a way to log in, before anything is recorded', () => {
  test('no key text, no identity file, no agent: an InputError naming every way to give one', () => {
    const { identity_file: _, ...bare } = stored;
    expect(() => new SshAccess({}).checkAccess(bare)).toThrow(
      /no SSH key for deploy@10\.0\.0\.5:22: give one \(an identity file, identity_file in the hosts file, the key itself, or an ssh-agent in SSH_AUTH_SOCK\)/,
    );
    expect(() => new SshAccess({ sshAgent: '/run/agent.sock' }).checkAccess(bare)).not.toThrow();
    expect(() => new SshAccess({ sshKey: 'KEY' }).checkAccess(bare)).not.toThrow();
  });

  test('an identity file that cannot be read is named, with why', () => {
    expect(() => new SshAccess({}).checkAccess({ ...stored, identity_file: '/nonexistent/key' })).toThrow(
      /cannot read SSH key file \/nonexistent\/key for deploy@10\.0\.0\.5:22: ENOENT/,
    );
    const key = join(tempDir(), 'key');
    writeFileSync(key, 'k');
    chmodSync(key, 0o600);
    expect(() => new SshAccess({}).checkAccess({ ...stored, identity_file: key })).not.toThrow();
  });
});

describe('SshAccess.target: the flags of this invocation replace the stored settings', () => {
  test('--identity-file replaces the key and keeps the host-key policy', () => {
    const access = new SshAccess({ sshOverride: { identity_file: '/new/key' } });
    expect(access.target(stored)).toEqual({ ...stored, identity_file: '/new/key' });
  });

  test('a host-key flag replaces the whole host-key policy', () => {
    const access = new SshAccess({ sshOverride: { fingerprint: `SHA256:${'a'.repeat(43)}` } });
    const { known_hosts: _, ...rest } = stored;
    expect(access.target({ ...stored, insecure_ignore_host_key: false })).toEqual({
      ...rest,
      fingerprint: `SHA256:${'a'.repeat(43)}`,
    });
  });

  test('without flags the stored target is used as it is', () => {
    expect(new SshAccess({}).target(stored)).toBe(stored);
  });
});
