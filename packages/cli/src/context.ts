import {
  defaultHome,
  defaultHostsFile,
  defaultUserDirs,
  FileStateStore,
  type HostFlags,
  type HostResolver,
  initialCreditsFromEnv,
  loadCatalog,
  loadHostsFile,
  resolveRemoteHost,
  SandboxManager,
} from '@sand-boxer/core';

/** Options that choose where state, declarations and hosts come from. */
export interface ContextOptions {
  home?: string;
  configDir?: string;
  hostsFile?: string;
  identityFile?: string;
  knownHosts?: string;
  hostFingerprint?: string;
  insecureIgnoreHostKey?: boolean;
}

/**
 * The manager every command that changes something works through (the same core the action uses).
 * Declarations and the hosts file are read only when a command needs them. Commands that only read
 * records (`list`, `status`) use openRecords (records.ts) instead and never load the manager.
 */
export function openManager(options: ContextOptions = {}): SandboxManager {
  const home = options.home ?? defaultHome();
  const userDirs = options.configDir ? [options.configDir] : defaultUserDirs(process.cwd());
  const flags: HostFlags = {
    identityFile: options.identityFile,
    knownHosts: options.knownHosts,
    fingerprint: options.hostFingerprint,
    insecureIgnoreHostKey: options.insecureIgnoreHostKey,
  };
  const hostsFile = async () => {
    const path = options.hostsFile ?? defaultHostsFile(process.cwd());
    return path ? await loadHostsFile(path) : undefined;
  };
  const resolveHost: HostResolver = async (name) => {
    if (name === 'local') return undefined;
    return resolveRemoteHost(name, await hostsFile(), flags);
  };
  return new SandboxManager({
    catalog: () => loadCatalog({ userDirs }),
    store: new FileStateStore(home),
    home,
    resolveHost,
    listHosts: async () => Object.keys((await hostsFile())?.hosts ?? {}),
    initialCredits: initialCreditsFromEnv(),
  });
}
