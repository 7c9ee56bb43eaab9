import { rm } from 'node:fs/promises';
import { messageOf, SnapshotError, StateConflictError } from '../errors.js';
import type { OperationOptions } from '../extensions/contract.js';
import type { SandboxRecord } from '../records/sandbox.js';
import type { SnapshotLocation, SnapshotRecord } from '../records/snapshot.js';
import { captureSnapshot } from './capture.js';
import { describeLocation, pullSnapshot } from './copies.js';
import { getSnapshot } from './lookup.js';
import { restoreSnapshot } from './restore.js';
import {
  type RestoreOptions,
  type SnapshotCreateOptions,
  type SnapshotDeps,
  saveSnapshot,
  snapshotLock,
} from './types.js';

/**
 * Snapshots of live sandboxes and their restore: the orchestration around the extension's
 * `snapshot`/`restore` hooks, the snapshot records in the state store, and the local copies of
 * artifacts (`<home>/snapshots/artifacts/`) that let a snapshot outlive the host it was taken on.
 */
export class SnapshotOperations {
  readonly #deps: SnapshotDeps;

  constructor(deps: SnapshotDeps) {
    this.#deps = deps;
  }

  /** Captures a ready sandbox (see capture.ts). */
  create(sandbox: string, options: SnapshotCreateOptions = {}): Promise<SnapshotRecord> {
    return captureSnapshot(this.#deps, sandbox, options);
  }

  /** Ready snapshots (with `all`, failed and deleted ones too), oldest first. */
  async list(options: { all?: boolean } = {}): Promise<SnapshotRecord[]> {
    const records = await this.#deps.lifecycle.deps.store.listSnapshots();
    return options.all ? records : records.filter((r) => r.status === 'ready' || r.status === 'creating');
  }

  /** One snapshot by id (`snap-…`) or by its name. */
  get(ref: string): Promise<SnapshotRecord> {
    return getSnapshot(this.#deps.lifecycle.deps.store, ref);
  }

  /** Copies a host-kept artifact into the local store (verified), so it can be restored anywhere. */
  pull(ref: string, options: OperationOptions = {}): Promise<SnapshotRecord> {
    return pullSnapshot(this.#deps, ref, options);
  }

  /** Brings a snapshot back, as a new sandbox or in place (see restore.ts). */
  restore(ref: string, options: RestoreOptions = {}): Promise<SandboxRecord> {
    return restoreSnapshot(this.#deps, ref, options);
  }

  /** Deletes every copy of the artifact, then marks the snapshot `deleted`; copies that resist stay listed. */
  async delete(ref: string, options: OperationOptions = {}): Promise<SnapshotRecord> {
    const { store } = this.#deps.lifecycle.deps;
    const snapshot = await this.get(ref);
    return store.withLock(snapshotLock(snapshot.id), async () => {
      const current = (await store.getSnapshot(snapshot.id)) ?? snapshot;
      if (current.status === 'deleted') return current;
      if (current.status === 'creating') {
        throw new StateConflictError(
          `snapshot ${current.id} is still being taken; delete it when it is ready (or failed)`,
          { snapshot: current.id },
        );
      }
      const extension = await this.#deps.lifecycle.extension(current.extension);
      const remaining: SnapshotLocation[] = [];
      const problems: string[] = [];
      for (const location of current.locations) {
        try {
          if (location.kind === 'local') await rm(location.path, { force: true });
          else if (extension.deleteArtifact) await extension.deleteArtifact(location, options);
          else throw new Error(`${extension.id} cannot delete artifacts it keeps on hosts`);
          options.progress?.(`deleted ${describeLocation(location)}`);
        } catch (error) {
          remaining.push(location);
          problems.push(`${describeLocation(location)}: ${messageOf(error)}`);
        }
      }
      if (problems.length > 0) {
        await saveSnapshot(this.#deps, { ...current, locations: remaining });
        throw new SnapshotError(
          `snapshot ${current.id}: could not delete ${problems.join('; ')} (delete it again to retry)`,
          { snapshot: current.id },
        );
      }
      return saveSnapshot(this.#deps, { ...current, status: 'deleted', locations: [] });
    });
  }
}
