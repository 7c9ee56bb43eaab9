import {
  defaultHome,
  defaultHostsFile,
  defaultUserDirs,
  InputError,
  type InputPolicy,
  openManager as openCoreManager,
  type SandboxManager,
  type SandboxService,
  settingsFromEnvironment,
} from '@sand-boxer/core';

/** Options that choose where state, declarations and hosts come from (global flags, see cli.ts). */
export interface ContextOptions {
  /** `--server`: a team's `sandboxer serve`, which then does the work (`--token` to log in). */
  server?: string;
  token?: string;
  home?: string;
  /** `--state`: a postgres:// URL or a state directory (default: home). */
  state?: string;
  configDir?: string;
  hostsFile?: string;
  identityFile?: string;
  knownHosts?: string;
  hostFingerprint?: string;
  insecureIgnoreHostKey?: boolean;
  composeCommand?: string;
}

/**
 * Where a command's work happens: the team's server (`--server`), else the manager on this machine.
 * The commands that can run either way (create, list, status, destroy, extend, credits, snapshot,
 * restore, route, estimate) use this, so their output and exit codes are the same both ways.
 */
export async function openService(options: ContextOptions = {}): Promise<SandboxService> {
  if (options.server) {
    const { RemoteService } = await import('@sand-boxer/client');
    return new RemoteService({ url: options.server, ...(options.token ? { token: options.token } : {}) });
  }
  return openManager(options);
}

/**
 * The manager every command that changes something works through, opened by core's one composition
 * root from this invocation's flags (commander has already read `SANDBOXER_HOME`, `…_CONFIG_DIR`,
 * `…_HOSTS` and `…_COMPOSE_CMD` into them) and the environment's key and initial credits. Relative
 * paths, the repo input among them, are taken from the working directory. Commands that only read
 * records (`list`, `status`) use openRecords (records.ts) instead and never load the manager.
 */
export function openManager(
  options: ContextOptions = {},
  inputs?: InputPolicy,
  defaults: { initialCredits?: number } = {},
): SandboxManager {
  if (options.server) {
    // forward, exec, logs, ssh, gc, serve, state, profiles and extensions (and destroy --record).
    throw new InputError(
      `this command works on this machine's state, not through a server: drop --server (or SANDBOXER_SERVER), or run it where the server runs`,
      { field: 'server' },
    );
  }
  const cwd = process.cwd();
  const environment = settingsFromEnvironment(process.env, defaults);
  return openCoreManager({
    home: options.home ?? defaultHome({}),
    cwd,
    configDirs: options.configDir ? [options.configDir] : defaultUserDirs(cwd, {}),
    hostsFile: options.hostsFile ?? defaultHostsFile(cwd, {}),
    hostFlags: {
      identityFile: options.identityFile,
      knownHosts: options.knownHosts,
      fingerprint: options.hostFingerprint,
      insecureIgnoreHostKey: options.insecureIgnoreHostKey,
    },
    ...(environment.sshKey ? { sshKey: environment.sshKey } : {}),
    ...(environment.sshAgent ? { sshAgent: environment.sshAgent } : {}),
    ...(options.composeCommand ? { composeCommand: options.composeCommand } : {}),
    initialCredits: environment.initialCredits,
    ...(options.state ? { state: options.state } : {}),
    ...(inputs ? { inputs } : {}),
  });
}
