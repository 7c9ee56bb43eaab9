import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as core from '@actions/core';
import {
  defaultHostsFile,
  defaultUserDirs,
  FileStateStore,
  type HostFlags,
  initialCreditsFromEnv,
  loadCatalog,
  loadHostsFile,
  quote,
  resolveRemoteHost,
  SandboxManager,
} from '@sand-boxer/core';
import type { ActionInputs } from './inputs.js';

/**
 * The same manager the CLI uses, with a state directory private to this step (nothing is assumed
 * to survive between main and post) and the secret key handed over only through the environment.
 */
export function openManager(
  inputs: Pick<ActionInputs, 'sshKey' | 'knownHosts' | 'hostFingerprint' | 'composeCommand'>,
) {
  const scratch = mkdtempSync(join(process.env.RUNNER_TEMP || tmpdir(), 'sandboxer-'));
  if (inputs.sshKey) {
    // Masked in every later log line, then read by core from the environment, never from a file we keep.
    for (const line of inputs.sshKey.split(/\r?\n/)) if (line.trim()) core.setSecret(line.trim());
    process.env.SANDBOXER_SSH_KEY = inputs.sshKey;
  }
  if (inputs.composeCommand) process.env.SANDBOXER_COMPOSE_CMD = inputs.composeCommand;
  const flags: HostFlags = {};
  if (inputs.knownHosts) {
    flags.knownHosts = join(scratch, 'known_hosts');
    writeFileSync(flags.knownHosts, `${inputs.knownHosts.trim()}\n`, { mode: 0o600 });
  }
  if (inputs.hostFingerprint) flags.fingerprint = inputs.hostFingerprint;
  const cwd = process.env.GITHUB_WORKSPACE || process.cwd();
  const home = join(scratch, 'home');
  return new SandboxManager({
    catalog: () => loadCatalog({ userDirs: defaultUserDirs(cwd), cwd }),
    store: new FileStateStore(home),
    home,
    // The action's ledger is private to the step, so this only decides whether metered profiles work.
    initialCredits: initialCreditsFromEnv(),
    resolveHost: async (name) => {
      if (name === 'local') return undefined;
      const path = defaultHostsFile(cwd);
      return resolveRemoteHost(name, path ? await loadHostsFile(path, cwd) : undefined, flags);
    },
  });
}

/** `host` as given, or `ssh-user@host[:ssh-port]` when the user and port come as separate inputs. */
export function hostSpec(inputs: Pick<ActionInputs, 'host' | 'sshUser' | 'sshPort'>): string | undefined {
  if (!inputs.host) return undefined;
  if (inputs.host.includes('@') || !inputs.sshUser) return inputs.host;
  return `${inputs.sshUser}@${inputs.host}${inputs.sshPort ? `:${inputs.sshPort}` : ''}`;
}

/** The command that destroys a kept sandbox from anywhere with access to its host. */
export function destroyCommand(recordJson: string, id: string): string {
  return `sandboxer destroy ${id} --record ${quote(recordJson)}`;
}
