import type { Catalog } from '../catalog/catalog.js';
import type { OperationOptions, ProvisionRequest, SandboxExtension } from '../extensions/contract.js';
import type { HostPool } from '../hosts/resolve.js';
import type { CreditsLedger } from '../metering/ledger.js';
import type { SandboxHandle } from '../records/handle.js';
import type { SandboxRecord } from '../records/sandbox.js';
import type { RoutingResolver } from '../routing/resolver.js';
import type { StateStore } from '../state/store.js';

/** What every lifecycle step works with; the composition root (open-manager.ts) builds it once. */
export interface LifecycleDeps {
  store: StateStore;
  catalog: () => Promise<Catalog>;
  /** The extension's handler, instantiated with this process's runtime (keys, compose command). */
  extension: (id: string) => Promise<SandboxExtension>;
  ledger: CreditsLedger;
  router: (catalog: Catalog) => RoutingResolver;
  now: () => Date;
  /** A pool by name (its cool-down for a host that failed); none without a hosts file. */
  pool?: (name: string | undefined) => Promise<HostPool | undefined>;
}

/** Options of a create: progress and cancellation, plus a hook that sees every saved record. */
export interface CreateSteps extends OperationOptions {
  /**
   * Called after each state change is saved (provisioning, handle known, ready, failed), so a caller
   * such as the GitHub Action can persist the record elsewhere before the next step runs.
   */
  onRecord?: (record: SandboxRecord) => void | Promise<void>;
  /**
   * What makes the sandbox once it is recorded: `extension.provision` unless a caller brings it into
   * being another way (a snapshot's restore). Rollback, readiness and the record are the same.
   */
  make?: (extension: SandboxExtension, request: ProvisionRequest) => Promise<SandboxHandle>;
}

/** Options of a destroy, including what gc needs to decide under the sandbox's lock. */
export interface DestroySteps extends OperationOptions {
  /** Destroy only if this holds for the record as read under the lock; else return it unchanged. */
  onlyIf?: (record: SandboxRecord) => boolean;
  /** Give up (StateConflictError) if another process holds the sandbox longer than this. */
  lockWaitMs?: number;
}

/** Saves a record with a fresh `updated_at`: the one way every step writes a sandbox record. */
export async function saveRecord(deps: LifecycleDeps, record: SandboxRecord): Promise<SandboxRecord> {
  const updated = { ...record, updated_at: deps.now().toISOString() };
  await deps.store.putSandbox(updated);
  return updated;
}
