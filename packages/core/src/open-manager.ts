import { loadCatalog } from './catalog/catalog.js';
import { InputError } from './errors.js';
import { type HostDirectory, hostsFromFile } from './hosts/directory.js';
import { type HostFlags, sshFlags } from './hosts/resolve.js';
import type { InputPolicy } from './lifecycle/plan.js';
import { SandboxManager } from './manager/manager.js';
import type { SshTarget } from './records/host-target.js';
import { openStateStore } from './state/open-store.js';
import type { StateStore } from './state/store.js';

/**
 * The one composition root: every surface (the CLI, `serve`, the GitHub Action) opens its manager
 * here, from settings it has read in its own terms (flags, inputs, the environment). Nothing below
 * reads the environment for keys, hosts or commands.
 */
export interface OpenManagerOptions {
  /** The state directory (`$SANDBOXER_HOME`). */
  home: string;
  /** The caller's working directory: shown paths, and the SSH flags' relative paths, are taken from here. */
  cwd: string;
  /** Directories of the caller's own declarations (each with `extensions/` and/or `profiles/`). */
  configDirs?: string[];
  /** The hosts file (aliases, keys, capacities); without one only inline `user@address` hosts. */
  hostsFile?: string;
  /** SSH settings for this invocation; they override the hosts file's. */
  hostFlags?: HostFlags;
  /** An SSH private key as text (the action's `ssh-key`, `$SANDBOXER_SSH_KEY`); never stored. */
  sshKey?: string;
  /** An ssh-agent socket (`$SSH_AUTH_SOCK`), for hosts without a key of their own. */
  sshAgent?: string;
  /** The compose command for compose hosts (e.g. `docker-compose`), over the extension's default. */
  composeCommand?: string;
  /** Credits a new account starts with. */
  initialCredits?: number;
  /**
   * How far the caller's inputs may reach: relative local paths are taken from `baseDir` (default
   * `cwd`); a `confined` caller (the HTTP API) is held to it, and to hosts-file aliases.
   */
  inputs?: InputPolicy;
  /** Where warnings go (default stderr). */
  warn?: (message: string) => void;
  /** The state store (default: the one `state` names, else the file store in `home`). */
  store?: StateStore;
  /** `--state`: a `postgres://` URL or a directory (see state/open-store.ts). */
  state?: string;
  /** The hosts (default: from `hostsFile` and `hostFlags`). */
  hosts?: HostDirectory;
}

/** Opens the manager a surface works through. Declarations and the hosts file are read when first needed. */
export function openManager(options: OpenManagerOptions): SandboxManager {
  const { home, cwd } = options;
  return new SandboxManager({
    catalog: () => loadCatalog({ userDirs: options.configDirs ?? [], cwd }),
    store: options.store ?? openStateStore(options.state, home, cwd),
    home,
    inputs: options.inputs ?? { baseDir: cwd },
    hosts: options.hosts ?? hostsFromFile(options.hostsFile, options.hostFlags ?? {}, cwd),
    ...(options.sshKey ? { sshKey: options.sshKey } : {}),
    ...(options.sshAgent ? { sshAgent: options.sshAgent } : {}),
    ...(override(options.hostFlags, cwd) ?? {}),
    ...(options.composeCommand ? { composeCommand: options.composeCommand } : {}),
    ...(options.warn ? { warn: options.warn } : {}),
    initialCredits: options.initialCredits ?? 0,
  });
}

/** The SSH flags, as settings that replace a stored sandbox's (destroy --identity-file F). */
function override(
  flags: HostFlags | undefined,
  cwd: string,
): { sshOverride: Partial<SshTarget> } | undefined {
  const settings = sshFlags(flags ?? {}, cwd);
  return Object.keys(settings).length > 0 ? { sshOverride: settings } : undefined;
}

/** The environment variables every surface honours, by the option they set. */
export interface EnvironmentSettings {
  sshKey?: string;
  /** `SSH_AUTH_SOCK`: the user's ssh-agent. */
  sshAgent?: string;
  /** `SANDBOXER_STATE`: a `postgres://` URL or a state directory. */
  state?: string;
  composeCommand?: string;
  initialCredits: number;
}

/**
 * The settings a surface takes from the environment, read in this one place: `SANDBOXER_SSH_KEY`,
 * `SSH_AUTH_SOCK`,
 * `SANDBOXER_COMPOSE_CMD`, `SANDBOXER_STATE` and `SANDBOXER_INITIAL_CREDITS` (default 100, or what the
 * surface says: `serve` gives new accounts 0; see docs/payments.md).
 * Home, declarations and hosts file have flags of their own (`--home`, `--config-dir`, `--hosts-file`).
 */
export function settingsFromEnvironment(
  env: NodeJS.ProcessEnv,
  defaults: { initialCredits?: number } = {},
): EnvironmentSettings {
  const credits = env.SANDBOXER_INITIAL_CREDITS;
  let initialCredits = defaults.initialCredits ?? 100;
  if (credits !== undefined && credits !== '') {
    initialCredits = Number(credits);
    if (!Number.isFinite(initialCredits) || initialCredits < 0) {
      throw new InputError(
        `SANDBOXER_INITIAL_CREDITS: expected a number of credits ≥ 0, got ${JSON.stringify(credits)}`,
        { field: 'initial_credits' },
      );
    }
  }
  return {
    ...(env.SANDBOXER_SSH_KEY ? { sshKey: env.SANDBOXER_SSH_KEY } : {}),
    ...(env.SSH_AUTH_SOCK ? { sshAgent: env.SSH_AUTH_SOCK } : {}),
    ...(env.SANDBOXER_STATE?.trim() ? { state: env.SANDBOXER_STATE.trim() } : {}),
    ...(env.SANDBOXER_COMPOSE_CMD?.trim() ? { composeCommand: env.SANDBOXER_COMPOSE_CMD.trim() } : {}),
    initialCredits,
  };
}
