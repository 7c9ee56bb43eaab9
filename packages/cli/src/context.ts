import {
  defaultHome,
  defaultHostsFile,
  defaultUserDirs,
  type InputPolicy,
  openManager as openCoreManager,
  type SandboxManager,
  settingsFromEnvironment,
} from '@sand-boxer/core';

/** Options that choose where state, declarations and hosts come from (global flags, see cli.ts). */
export interface ContextOptions {
  home?: string;
  configDir?: string;
  hostsFile?: string;
  identityFile?: string;
  knownHosts?: string;
  hostFingerprint?: string;
  insecureIgnoreHostKey?: boolean;
  composeCommand?: string;
}

/**
 * The manager every command that changes something works through, opened by core's one composition
 * root from this invocation's flags (commander has already read `SANDBOXER_HOME`, `…_CONFIG_DIR`,
 * `…_HOSTS` and `…_COMPOSE_CMD` into them) and the environment's key and initial credits. Relative
 * paths, the repo input among them, are taken from the working directory. Commands that only read
 * records (`list`, `status`) use openRecords (records.ts) instead and never load the manager.
 */
export function openManager(options: ContextOptions = {}, inputs?: InputPolicy): SandboxManager {
  const cwd = process.cwd();
  const environment = settingsFromEnvironment(process.env);
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
    ...(options.composeCommand ? { composeCommand: options.composeCommand } : {}),
    initialCredits: environment.initialCredits,
    ...(inputs ? { inputs } : {}),
  });
}
