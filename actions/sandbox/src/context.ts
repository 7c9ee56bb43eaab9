import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as core from '@actions/core';
import { RemoteService } from '@sand-boxer/client';
import {
  defaultHostsFile,
  defaultUserDirs,
  type HostFlags,
  InputError,
  openManager as openCoreManager,
  quote,
  type SandboxManager,
  type SandboxService,
  settingsFromEnvironment,
} from '@sand-boxer/core';
import type { ActionInputs } from './inputs.js';

/**
 * The same manager the CLI uses, opened by core's composition root with a state directory private
 * to this step (nothing is assumed to survive between main and post). The key is handed to core
 * directly, never through the environment or a file we keep; relative paths in inputs (the repo)
 * are taken from the job's workspace.
 */
export function openManager(
  inputs: Pick<ActionInputs, 'sshKey' | 'knownHosts' | 'hostFingerprint' | 'composeCommand'>,
  { mask = true }: { mask?: boolean } = {},
): SandboxManager {
  const scratch = mkdtempSync(join(process.env.RUNNER_TEMP || tmpdir(), 'sandboxer-'));
  if (inputs.sshKey && mask) {
    // Masked in every later log line. (Not in the keeper: its stdout is not the job's log.)
    for (const line of inputs.sshKey.split(/\r?\n/)) if (line.trim()) core.setSecret(line.trim());
  }
  const hostFlags: HostFlags = {};
  if (inputs.knownHosts) {
    hostFlags.knownHosts = join(scratch, 'known_hosts');
    writeFileSync(hostFlags.knownHosts, `${inputs.knownHosts.trim()}\n`, { mode: 0o600 });
  }
  if (inputs.hostFingerprint) hostFlags.fingerprint = inputs.hostFingerprint;
  const cwd = process.env.GITHUB_WORKSPACE || process.cwd();
  return openCoreManager({
    home: join(scratch, 'home'),
    cwd,
    configDirs: defaultUserDirs(cwd),
    hostsFile: defaultHostsFile(cwd),
    hostFlags,
    ...(inputs.sshKey ? { sshKey: inputs.sshKey } : {}),
    // A job that loaded its key into an agent (e.g. webfactory/ssh-agent) needs no ssh-key input.
    ...(process.env.SSH_AUTH_SOCK ? { sshAgent: process.env.SSH_AUTH_SOCK } : {}),
    ...(inputs.composeCommand ? { composeCommand: inputs.composeCommand } : {}),
    // The action's ledger is private to the step, so this only decides whether metered profiles work.
    initialCredits: settingsFromEnvironment(process.env).initialCredits,
    warn: (message) => core.warning(message),
  });
}

/**
 * Where main and post do their work: the team's server (`server-url`), else the manager in this
 * step. The server is logged in to with `server-token`, else with the job's GitHub OIDC token.
 */
export async function openService(inputs: ActionInputs): Promise<SandboxService> {
  if (!inputs.serverUrl) return openManager(inputs);
  return openServer({ ...inputs, serverUrl: inputs.serverUrl });
}

/** The team's server, logged in to (see openService); the keeper renews leases through it too. */
export async function openServer(
  inputs: Pick<ActionInputs, 'serverToken' | 'oidcAudience'> & { serverUrl: string },
): Promise<RemoteService> {
  let token = inputs.serverToken;
  if (token) core.setSecret(token);
  else if (process.env.ACTIONS_ID_TOKEN_REQUEST_URL) {
    token = await core.getIDToken(inputs.oidcAudience);
    core.setSecret(token);
  } else {
    throw new InputError(
      'input "server-token": give the token for server-url, or grant the job `permissions: id-token: write` so it can log in with its GitHub OIDC token',
    );
  }
  return new RemoteService({ url: inputs.serverUrl, token });
}

/** `host` as given, or `ssh-user@host[:ssh-port]` when the user and port come as separate inputs. */
export function hostSpec(inputs: Pick<ActionInputs, 'host' | 'sshUser' | 'sshPort'>): string | undefined {
  if (!inputs.host) return undefined;
  if (inputs.host.includes('@') || !inputs.sshUser) return inputs.host;
  return `${inputs.sshUser}@${inputs.host}${inputs.sshPort ? `:${inputs.sshPort}` : ''}`;
}

/**
 * How a user who has not installed the CLI runs it. Spelled out because the npm name `sandboxer`
 * belongs to an unrelated package: running that name through npx would fetch a stranger's code.
 */
export const CLI_COMMAND = 'npx -y @sand-boxer/cli';

/** The command that destroys a kept sandbox from anywhere with access to its host. */
export function destroyCommand(recordJson: string, id: string): string {
  return `${CLI_COMMAND} destroy ${id} --record ${quote(recordJson)}`;
}

/** The command that destroys a sandbox a team's server holds (the token comes from the environment). */
export function serverDestroyCommand(serverUrl: string, id: string): string {
  return `${CLI_COMMAND} --server ${quote(serverUrl)} destroy ${id}   (SANDBOXER_TOKEN: a token of its account)`;
}
