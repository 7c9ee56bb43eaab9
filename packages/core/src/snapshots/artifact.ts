import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { SnapshotCorruptError } from '../errors.js';
import { sha256File } from '../util/sha256-file.js';
import { isSnapshotId } from '../util/snapshot-ids.js';

/** Where the local store keeps the copy of a snapshot's artifact. */
export function localArtifactPath(artifactDir: string, snapshotId: string): string {
  if (!isSnapshotId(snapshotId)) throw new Error(`not a snapshot id: ${snapshotId}`);
  return join(artifactDir, `${snapshotId}.tar`);
}

/** Refuses a local copy whose checksum is not the recorded one, naming the file. */
export async function verifyLocalArtifact(
  path: string,
  expected: string | undefined,
  id: string,
): Promise<void> {
  const info = await stat(path).catch(() => undefined);
  if (!info?.isFile()) {
    throw new SnapshotCorruptError(
      `snapshot ${id}: its local copy ${path} is missing; nothing was restored`,
      {
        snapshot: id,
        path,
      },
    );
  }
  const actual = await sha256File(path);
  if (actual !== expected) {
    throw new SnapshotCorruptError(
      `snapshot ${id}: local copy ${path} is corrupt (sha256 ${actual.slice(0, 16)}…, expected ${expected?.slice(0, 16)}…); nothing was restored`,
      { snapshot: id, path },
    );
  }
}
