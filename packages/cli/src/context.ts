import { defaultHome, defaultUserDirs, FileStateStore, loadCatalog, SandboxManager } from '@sand-boxer/core';

/** Options that choose where state and declarations come from. */
export interface ContextOptions {
  home?: string;
  configDir?: string;
}

/**
 * The manager every command works through (the same core the action uses). Declarations are read
 * only when a command needs them, so `list` and `status` start fast.
 */
export function openManager(options: ContextOptions = {}): SandboxManager {
  const home = options.home ?? defaultHome();
  const userDirs = options.configDir ? [options.configDir] : defaultUserDirs(process.cwd());
  return new SandboxManager({
    catalog: () => loadCatalog({ userDirs }),
    store: new FileStateStore(home),
    home,
  });
}
