import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { builtinDeclarations } from '../../src/catalog/builtin-declarations.generated.js';
import { loadCatalog } from '../../src/catalog/catalog.js';
import { loadHostsFile, resolveRemoteHost } from '../../src/hosts/resolve.js';
import { SandboxManager } from '../../src/manager/manager.js';
import type { ManagerOptions } from '../../src/manager/types.js';
import { FileStateStore } from '../../src/state/file-store.js';
import { memoryDeclarations, sampleRepo, source, tempDir } from '../support/fixtures.js';

/**
 * Routed profiles for the routing tests. Every one has a metered main extension, so the list of
 * self-hosted alternatives in refusal messages stays the built-in one.
 */
export const routingProfiles = [
  // Burst to ext.memory (10 credits for 10m) while fewer than 2 are live, else ext.saas-stub (5 credits).
  source(
    'profile',
    'profiles/profile.burst.yaml',
    `description: burst to memory, fall back to the saas stub
extension: ext.memory
ttl: 10m
max_ttl: 1h
inputs:
  required: [name, repo]
routing:
  candidates:
    - extension: ext.memory
      max_live: 2
      max_cost: 50
    - extension: ext.saas-stub
`,
  ),
  source(
    'profile',
    'profiles/profile.isolated.yaml',
    `description: asks for isolation levels
extension: ext.memory
ttl: 10m
inputs:
  required: [name, repo]
routing:
  candidates:
    - extension: ext.memory
      isolation: vm
    - extension: ext.saas-stub
      isolation: directory
`,
  ),
  source(
    'profile',
    'profiles/profile.hosted.yaml',
    `description: self-hosted compose hosts first, then the saas stub
extension: ext.saas-stub
ttl: 30m
inputs:
  required: [repo]
routing:
  candidates:
    - extension: ext.compose-ssh
      host: docker-1
    - extension: ext.compose-ssh
      host: docker-2
    - extension: ext.saas-stub
`,
  ),
  source(
    'profile',
    'profiles/profile.hostless.yaml',
    `description: a compose candidate without any host
extension: ext.saas-stub
ttl: 30m
inputs:
  required: [repo]
routing:
  candidates:
    - extension: ext.compose-ssh
    - extension: ext.saas-stub
`,
  ),
];

/** docker-1 takes one live sandbox at most; docker-2 has no limit. Never connected to. */
const HOSTS = `hosts:
  docker-1:
    address: 10.0.0.5
    user: deploy
    capacity: 1
  docker-2:
    address: 10.0.0.6
    user: deploy
`;

/** A manager over a real file store in a fresh home, with the routing profiles and a hosts file. */
export async function setup(options: Partial<Omit<ManagerOptions, 'catalog' | 'store' | 'home'>> = {}) {
  const home = tempDir('sbx-routing-');
  const catalog = await loadCatalog({
    builtins: [...builtinDeclarations, ...memoryDeclarations, ...routingProfiles],
    userDirs: [],
  });
  const hostsPath = join(home, 'hosts.yaml');
  writeFileSync(hostsPath, HOSTS);
  const hosts = await loadHostsFile(hostsPath, home);
  const store = new FileStateStore(home);
  const manager = new SandboxManager({
    catalog,
    store,
    home,
    initialCredits: 1000,
    inputs: { baseDir: process.cwd() },
    // Routing only, nothing connects: key text so that compose hosts pass the key check.
    sshKey: 'routing tests never log in',
    hosts: {
      resolve: async (name) => resolveRemoteHost(name, hosts),
      aliases: async () => Object.keys(hosts.hosts),
    },
    ...options,
  });
  return { home, store, manager, repo: sampleRepo() };
}
