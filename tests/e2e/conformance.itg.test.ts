import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadCatalog, type RemoteHost, resolveRemoteHost, type SandboxExtension } from '@sand-boxer/core';
import { describeConformance } from '@sand-boxer/core/conformance';
import { afterAll, beforeAll, expect } from 'vitest';
import { allSandboxLeftovers } from './support/docker.js';
import { loadTestbed, type Testbed } from './support/testbed.js';

/**
 * The one extension conformance suite (@sand-boxer/core/conformance), run against the SSH built-ins
 * on the real testbed — as it runs in unit tests against ext.saas-stub and the in-memory reference:
 * ext.compose-ssh on 127.0.0.1 (Docker engine, docker-compose v1) and ext.vm-packer on 127.0.0.2
 * (the "VM"). The handlers come from the catalog, as the manager instantiates them.
 */

const fixtures = join(import.meta.dirname, '..', 'fixtures');
const testbed: Testbed = loadTestbed();
const home = mkdtempSync(join(tmpdir(), 'sbx-e2e-conformance-'));
const catalog = loadCatalog({ userDirs: [] });
const handler = async (id: string): Promise<SandboxExtension> =>
  (await catalog).instantiate(id, { home, composeCommand: 'docker-compose' });
const host = (address: string): RemoteHost =>
  resolveRemoteHost(`${testbed.user}@${address}:${testbed.port}`, undefined, {
    identityFile: testbed.key,
    knownHosts: testbed.knownHosts,
  }) as RemoteHost;

let before: string[];
beforeAll(() => {
  before = allSandboxLeftovers([testbed.sandboxBase, '/build'], 0);
});
afterAll(() => {
  // What the suite made is gone again, on the engine and on both hosts.
  expect(allSandboxLeftovers([testbed.sandboxBase, '/build'])).toEqual(before);
});

/** True while the compose project has containers or the sandbox directory exists on the host. */
function composeSandboxExists(id: string): boolean {
  const containers = execFileSync(
    'docker',
    ['ps', '-aq', '--filter', `label=com.docker.compose.project=sbx-${id}`],
    {
      encoding: 'utf8',
    },
  ).trim();
  return containers !== '' || existsSync(join(testbed.sandboxBase, `sbx-${id}`));
}

describeConformance('ext.compose-ssh (docker-compose on the testbed host)', {
  extension: () => handler('ext.compose-ssh'),
  host: host(testbed.host1),
  inputs: { repo: join(fixtures, 'compose-http') },
  requiredInput: 'repo',
  exists: async (id) => composeSandboxExists(id),
  // The service exits at once: wait-ready fails after the stack was made.
  failingInputs: { repo: join(fixtures, 'compose-exits') },
});

describeConformance('ext.vm-packer (a workspace on the testbed VM)', {
  extension: () => handler('ext.vm-packer'),
  host: host(testbed.host2),
  inputs: {
    ssh_target: `${testbed.user}@${testbed.host2}:${testbed.port}`,
    repo: join(fixtures, 'sample-repo'),
  },
  requiredInput: 'ssh_target',
  exists: async (id) => existsSync(join(testbed.env.SANDBOXER_TESTBED_BUILD_DIR ?? '/build', `sbx-${id}`)),
});
