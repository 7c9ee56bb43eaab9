import type { Catalog } from '../catalog/catalog.js';
import type { OperationOptions } from '../extensions/contract.js';
import type { HostDirectory } from '../hosts/directory.js';
import type { InputPolicy } from '../lifecycle/plan.js';
import type { CreateSteps } from '../lifecycle/types.js';
import type { SshTarget } from '../records/host-target.js';
import type { ResolverDeps } from '../routing/resolver.js';
import type { StateStore } from '../state/store.js';

export type { CreateRequest, InputPolicy } from '../lifecycle/plan.js';

/** Options of `create`: progress, cancellation, and a hook that sees every saved record. */
export type CreateOptions = Omit<CreateSteps, 'make'>;

/** Options of `destroy`: progress and cancellation. */
export type DestroyOptions = OperationOptions;

/** What a manager is made of; `openManager` (open-manager.ts) builds it from a caller's settings. */
export interface ManagerOptions {
  /** The catalog, or a loader for it: reading declarations is skipped by calls that never need them. */
  catalog: Catalog | (() => Promise<Catalog>);
  store: StateStore;
  /** `$SANDBOXER_HOME`, handed to extensions for local files of their own. */
  home: string;
  /** Where relative local paths in inputs are taken from, and how far the caller may reach. */
  inputs: InputPolicy;
  /** The hosts a request may name; without it only `local`. */
  hosts?: HostDirectory;
  /** An SSH private key as text, for extensions that connect to hosts (never stored). */
  sshKey?: string;
  /** `$SSH_AUTH_SOCK`: an ssh-agent to log in with when no key is given. */
  sshAgent?: string;
  /** SSH flags of this invocation, over every stored sandbox's settings (see ExtensionRuntime). */
  sshOverride?: Partial<SshTarget>;
  /** The compose command for compose hosts, over the extension's declared default. */
  composeCommand?: string;
  /** Where extensions' warnings go (default: stderr). */
  warn?: (message: string) => void;
  now?: () => Date;
  /** Credits a new account starts with (an `initial grant` in its history); 0 by default. */
  initialCredits?: number;
  /** Replaces the TCP reachability probe of routing (tests). */
  probe?: ResolverDeps['probe'];
}
