import { NotFoundError, StateConflictError, UnsupportedError } from '../errors.js';
import type { SandboxExtension } from '../extensions/contract.js';
import type { SnapshotRecord } from '../records/snapshot.js';
import type { StateStore } from '../state/store.js';
import { isSnapshotId } from '../util/snapshot-ids.js';
import type { SnapshotDeps } from './types.js';

/** One snapshot by id (`snap-…`) or by its name. */
export async function getSnapshot(store: StateStore, ref: string): Promise<SnapshotRecord> {
  const found = isSnapshotId(ref) ? await store.getSnapshot(ref) : await snapshotNamed(store, ref);
  if (!found) {
    throw new NotFoundError(`no snapshot "${ref}" in ${store.location}`, {
      snapshot: ref,
    });
  }
  return found;
}

/** The live snapshot of that name, else the latest deleted or failed one (so errors can say what happened). */
export async function snapshotNamed(
  store: StateStore,
  name: string,
  liveOnly = false,
): Promise<SnapshotRecord | undefined> {
  const named = (await store.listSnapshots()).filter((s) => s.name === name);
  const live = named.find((s) => s.status === 'ready' || s.status === 'creating');
  return live ?? (liveOnly ? undefined : named.at(-1));
}

/** The snapshot if it is ready to be used (pulled, restored). */
export function usable(snapshot: SnapshotRecord): SnapshotRecord {
  if (snapshot.status === 'ready') return snapshot;
  throw new StateConflictError(
    `snapshot ${snapshot.id} is ${snapshot.status}${snapshot.status === 'deleted' ? ` (deleted at ${snapshot.updated_at})` : ''}: only a ready snapshot can be used`,
    { snapshot: snapshot.id, status: snapshot.status },
  );
}

/** The extension's handler, if it can snapshot and restore; else an UnsupportedError that says where. */
export async function snapshotCapable(deps: SnapshotDeps, extensionId: string): Promise<SandboxExtension> {
  const declaration = (await deps.lifecycle.deps.catalog()).extension(extensionId);
  const extension = await deps.lifecycle.extension(extensionId);
  if (!declaration.capabilities.snapshot || !extension.snapshot || !extension.restore) {
    throw new UnsupportedError(
      `${extensionId} does not support snapshots (capabilities.snapshot is ${declaration.capabilities.snapshot} in its declaration${declaration.capabilities.snapshot ? ', but its handler has no snapshot/restore' : ''})`,
      { extension: extensionId },
    );
  }
  return extension;
}
