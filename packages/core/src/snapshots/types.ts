import { messageOf, SandboxerError } from '../errors.js';
import type { OperationOptions } from '../extensions/contract.js';
import type { SandboxLifecycle } from '../lifecycle/lifecycle.js';
import type { PlanContext } from '../lifecycle/plan.js';
import type { CreateSteps } from '../lifecycle/types.js';
import type { SnapshotRecord } from '../records/snapshot.js';

/** What the snapshot operations work through. */
export interface SnapshotDeps {
  /** The one sandbox lifecycle: records, locks, creates (a restore as a new sandbox is a create). */
  lifecycle: SandboxLifecycle;
  /** Where local copies of artifacts live: `<home>/snapshots/artifacts/`. */
  artifactDir: string;
  /** Checks a restore's inputs and host the way every create's are checked. */
  planning: () => Promise<PlanContext>;
}

export interface SnapshotCreateOptions extends OperationOptions {
  name?: string;
  /** Also copy the artifact into the local store, so it can be restored on another host. */
  pull?: boolean;
}

export interface RestoreOptions extends OperationOptions {
  /** `new` (default): a new sandbox through routing, metering and wait-ready; `in-place`: over a live one. */
  mode?: 'new' | 'in-place';
  /** For `new`: the host to restore on (default: the host the snapshot was taken on). */
  host?: string;
  /** For `in-place`: the sandbox to restore over (default: the one the snapshot was taken from). */
  sandbox?: string;
  inputs?: Record<string, string>;
  ttl?: string | number;
  consumer?: string;
  account?: string;
  onRecord?: CreateSteps['onRecord'];
}

/** Saves a snapshot record with a fresh `updated_at`. */
export async function saveSnapshot(deps: SnapshotDeps, record: SnapshotRecord): Promise<SnapshotRecord> {
  const updated = { ...record, updated_at: deps.lifecycle.deps.now().toISOString() };
  await deps.lifecycle.deps.store.putSnapshot(updated);
  return updated;
}

/** Held while a snapshot name is checked and taken. */
export const NAMES_LOCK = 'snapshot-names';

export function snapshotLock(id: string): string {
  return `snapshot-${id}`;
}

/** The `error` a record keeps for a failed capture or restore. */
export function snapshotErrorOf(error: unknown): { code: string; message: string } {
  return {
    code: error instanceof SandboxerError ? error.code : 'SNAPSHOT_FAILED',
    message: messageOf(error),
  };
}
