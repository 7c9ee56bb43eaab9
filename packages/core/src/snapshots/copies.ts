import { mkdir, rm } from 'node:fs/promises';
import { NotFoundError, SnapshotError } from '../errors.js';
import type { OperationOptions } from '../extensions/contract.js';
import type { SnapshotLocation, SnapshotRecord } from '../records/snapshot.js';
import { localArtifactPath, verifyLocalArtifact } from './artifact.js';
import { getSnapshot, usable } from './lookup.js';
import { type SnapshotDeps, saveSnapshot, snapshotLock } from './types.js';

/** The copies of a snapshot's artifact: on hosts, and in this machine's local store. */

/** Copies a host-kept artifact into the local store (verified), so it can be restored anywhere. */
export async function pullSnapshot(
  deps: SnapshotDeps,
  ref: string,
  options: OperationOptions = {},
): Promise<SnapshotRecord> {
  const snapshot = usable(await getSnapshot(deps.lifecycle.deps.store, ref));
  if (snapshot.locations.some((l) => l.kind === 'local')) return snapshot;
  const from = snapshot.locations.find((l) => l.kind === 'host');
  const extension = await deps.lifecycle.extension(snapshot.extension);
  if (!from || !extension.pullArtifact) {
    throw new SnapshotError(`snapshot ${snapshot.id} has no copy that can be pulled`, {
      snapshot: snapshot.id,
    });
  }
  const path = localArtifactPath(deps.artifactDir, snapshot.id);
  await mkdir(deps.artifactDir, { recursive: true, mode: 0o700 });
  options.progress?.(`pulling snapshot ${snapshot.id} (${snapshot.size_bytes} bytes) from ${from.host}`);
  await extension.pullArtifact(from, path, options);
  try {
    await verifyLocalArtifact(path, snapshot.sha256, snapshot.id);
  } catch (error) {
    await rm(path, { force: true });
    throw error;
  }
  return addLocation(deps, snapshot.id, { kind: 'local', path });
}

/** Records one more copy of the artifact (once). */
export async function addLocation(
  deps: SnapshotDeps,
  id: string,
  location: SnapshotLocation,
): Promise<SnapshotRecord> {
  const { store } = deps.lifecycle.deps;
  return store.withLock(snapshotLock(id), async () => {
    const current = await store.getSnapshot(id);
    if (!current) throw new NotFoundError(`snapshot ${id} disappeared`, { snapshot: id });
    const same = (l: SnapshotLocation) =>
      l.kind === location.kind &&
      l.path === location.path &&
      (l.kind === 'local' || (location.kind === 'host' && l.host === location.host));
    if (current.locations.some(same)) return current;
    return saveSnapshot(deps, { ...current, locations: [...current.locations, location] });
  });
}

export function describeLocation(location: SnapshotLocation): string {
  return location.kind === 'local' ? `local copy ${location.path}` : `${location.path} on ${location.host}`;
}
