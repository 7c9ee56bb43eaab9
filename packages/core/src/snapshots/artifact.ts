import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { SnapshotCorruptError } from '../errors.js';
import { artifactDigest } from '../util/artifact-digest.js';
import { isSnapshotId } from '../util/snapshot-ids.js';

/** Where the local store keeps the copy of a snapshot's artifact. */
export function localArtifactPath(artifactDir: string, snapshotId: string): string {
  if (!isSnapshotId(snapshotId)) throw new Error(`not a snapshot id: ${snapshotId}`);
  return join(artifactDir, `${snapshotId}.tar`);
}

/** Refuses a local copy whose checksum is not the recorded one (either format), naming the file. */
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
  const { digest, problem } = await artifactDigest(path);
  if (digest !== expected) {
    throw new SnapshotCorruptError(
      `snapshot ${id}: local copy ${path} is corrupt (sha256 ${digest.slice(0, 16)}…, expected ${expected?.slice(0, 16)}…); nothing was restored`,
      { snapshot: id, path },
    );
  }
  if (problem) {
    throw new SnapshotCorruptError(
      `snapshot ${id}: local copy ${path} is corrupt (${problem}); nothing was restored`,
      { snapshot: id, path },
    );
  }
}
