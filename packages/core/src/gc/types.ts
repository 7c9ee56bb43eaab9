import type { OperationOptions } from '../extensions/contract.js';
import type { HostDirectory } from '../hosts/directory.js';
import type { SandboxLifecycle } from '../lifecycle/lifecycle.js';

/** What gc works through: the one sandbox lifecycle, and the hosts to scan. */
export interface GcContext {
  lifecycle: SandboxLifecycle;
  hosts: HostDirectory;
}

export interface GcOptions extends OperationOptions {
  /** Report what would be done, change nothing. */
  dryRun?: boolean;
  /** Scan only these hosts (aliases); default every host of the hosts file. */
  hosts?: string[];
  /** Scan hosts at all (the action's scoped gc only reconciles its own records). */
  scanHosts?: boolean;
  /** Only this consumer's sandboxes and holds. */
  consumer?: string;
  /** Also remove sandboxes found on hosts that this store does not know, even before they expire. */
  unknown?: boolean;
  /**
   * Host-side caches (the sync cache) unused for longer than this go too; default 14 days. Not with
   * `consumer`: caches are shared by everyone who creates on the host.
   */
  cacheMaxAgeSeconds?: number;
}

/** How long a host-side cache may go unused before gc removes it, unless told otherwise. */
export const DEFAULT_CACHE_MAX_AGE_SECONDS = 14 * 24 * 3600;

/** One thing gc looked at, what it decided and how that went. */
export interface GcFinding {
  sandbox: string;
  /** `store` for a record, else the host it was found on. */
  where: string;
  /** What was found: the record's state, or the resources on the host. */
  found: string;
  reason: string;
  action: 'destroy' | 'release hold' | 'keep';
  result: 'done' | 'failed' | 'dry run' | 'kept';
  detail?: string;
}
