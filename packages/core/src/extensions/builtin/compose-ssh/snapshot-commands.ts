import { posix } from 'node:path';
import { InputError } from '../../../errors.js';
import { and, command, quote, remotePathInside } from '../../../ssh/quote.js';
import { isSnapshotId } from '../../../util/snapshot-ids.js';
import { FOOTER_PREFIX, INDEX_HEADER } from '../../../util/snapshot-index.js';
import { MARKER_FILE } from '../remote-workspace/workspace.js';
import { type ComposeRuntime, LABELS_FILE } from './commands.js';
import { SHA256_FUNCTION } from './hash-command.js';

/**
 * Pure builders for the shell scripts ext.compose-ssh runs to capture and restore a snapshot.
 * Every value is quoted; container ids and volume keys are checked against what the engine itself
 * produces. Tested by table, including hostile values.
 *
 * The artifact is one file on the host holding `manifest.json`, `workspace.tar` (the sandbox
 * directory without its marker and generated labels file) and `volumes/<key>.tar` (what
 * `docker cp <container>:<mount> -` streams for each named volume): format 2, the members back to
 * back with an index at the end (util/snapshot-index.ts). Older snapshots are format 1, one tar of
 * the same members; restore-commands.ts reads both. The file keeps its `.tar` name either way, so
 * paths recorded by older versions stay valid.
 */

/** Where a host keeps its snapshot artifacts: beside the sandbox directories, never matching `sbx-*`. */
export function snapshotDirOf(base: string): string {
  return remotePathInside(base, '.sandboxer-snapshots');
}

export function artifactPathOf(base: string, snapshotId: string): string {
  if (!isSnapshotId(snapshotId)) {
    throw new InputError(`refusing unexpected snapshot id ${JSON.stringify(snapshotId)}`);
  }
  return remotePathInside(snapshotDirOf(base), `${snapshotId}.tar`);
}

/** One named volume to capture: the compose key, a container that mounts it and where. */
export interface VolumeMount {
  key: string;
  service: string;
  containerId: string;
  path: string;
}

const CONTAINER_ID = /^[0-9a-f]{12,64}$/;
const VOLUME_KEY = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

export function checkContainerId(id: string): string {
  if (!CONTAINER_ID.test(id)) throw new InputError(`not a container id: ${JSON.stringify(id)}`);
  return id;
}

export function checkVolume(volume: Pick<VolumeMount, 'key' | 'path'>): void {
  if (!VOLUME_KEY.test(volume.key)) {
    throw new InputError(`not a compose volume name: ${JSON.stringify(volume.key)}`);
  }
  if (!volume.path.startsWith('/') || posix.normalize(volume.path) !== volume.path || volume.path === '/') {
    throw new InputError(`volume ${volume.key}: mount path ${JSON.stringify(volume.path)} is not absolute`);
  }
}

export interface CaptureScript {
  runtime: ComposeRuntime;
  /** Running containers of the project, held still during the capture. */
  containers: string[];
  consistency: 'pause' | 'stop';
  stopTimeout: number;
  /** The sandbox directory, or undefined when the workspace is not captured. */
  workspaceDir: string | undefined;
  volumes: VolumeMount[];
  artifact: string;
}

/**
 * Writes a format 2 artifact (util/snapshot-index.ts): each member's stream (the manifest from
 * stdin, the workspace's `tar`, each volume's `docker cp … -`) is appended straight to the partial
 * artifact, with no staging copy and no repack. The services are held still only while the
 * workspace and the volumes stream to disk; each member is hashed (`sha256hex`, hash-command.ts)
 * after they are resumed, from the page cache the write just filled. Hashing in the same pass (a
 * `tee` into the hash) was measured and refused: on the testbed's 2 CPUs the hash and the extra copy
 * compete with the engine's `cp`, and the pause grew from 2.5 s to 4.9 s per GiB (docs/performance.md).
 * The `trap` resumes the services and removes the partial files however the script ends (an error,
 * a dropped connection's SIGHUP). Prints `paused_ms=<n>`, then the index's sha256, then the size.
 */
export function captureScript(s: CaptureScript): string {
  const ids = s.containers.map(checkContainerId);
  for (const v of s.volumes) {
    checkVolume(v);
    checkContainerId(v.containerId);
  }
  const stage = `${s.artifact}.stage`;
  const partial = `${s.artifact}.partial`;
  const index = `${stage}/index`;
  const members = `${stage}/members`;
  const e = s.runtime.engine;
  const hold =
    ids.length === 0
      ? 'true'
      : s.consistency === 'pause'
        ? `${command(e, 'pause', ...ids)} >/dev/null`
        : `${command(e, 'stop', '-t', String(s.stopTimeout), ...ids)} >/dev/null`;
  const resume =
    ids.length === 0
      ? 'true'
      : s.consistency === 'pause'
        ? `${command(e, 'unpause', ...ids)} >/dev/null 2>&1 || true`
        : `${command(e, 'start', ...ids)} >/dev/null 2>&1 || true`;
  const captures: string[] = [];
  if (s.workspaceDir) {
    captures.push(
      `member workspace.tar ${command('tar', '-C', s.workspaceDir, `--exclude=./${MARKER_FILE}`, `--exclude=./${LABELS_FILE}`, '-cf', '-', '.')}`,
    );
  }
  for (const v of s.volumes) {
    captures.push(
      `member ${quote(`volumes/${v.key}.tar`)} ${command(e, 'cp', `${v.containerId}:${v.path}`, '-')}`,
    );
  }
  const now = 'date +%s%N | cut -c1-13';
  return [
    'set -e',
    'umask 077',
    `cleanup() { rm -rf -- ${quote(stage)} ${quote(partial)}; }`,
    `resume() { ${resume}; }`,
    'trap cleanup EXIT',
    'trap "exit 129" HUP INT TERM',
    SHA256_FUNCTION,
    // member NAME PRODUCER...: appends PRODUCER's stdout to the artifact (no pipe, so `set -e` sees
    // its failure) and notes where it lies, from the file's size before and after.
    'member() {',
    `  off=$(${command('stat', '-c', '%s', '--', partial)})`,
    `  name=$1; shift; "$@" </dev/null >> ${quote(partial)}`,
    `  end=$(${command('stat', '-c', '%s', '--', partial)})`,
    `  printf '%s %s %s\\n' "$name" "$off" "$((end - off))" >> ${quote(members)}`,
    '}',
    command('mkdir', '-p', '--', posix.dirname(s.artifact)),
    command('mkdir', '--', stage),
    `cat > ${quote(`${stage}/manifest.json`)}`,
    `: > ${quote(partial)}`,
    `: > ${quote(members)}`,
    `printf '%s\\n' ${quote(INDEX_HEADER)} > ${quote(index)}`,
    `member manifest.json ${command('cat', '--', `${stage}/manifest.json`)}`,
    `t0=$(${now})`,
    'trap "resume; cleanup" EXIT',
    hold,
    ...captures,
    'trap cleanup EXIT',
    'resume',
    `echo "paused_ms=$(( $(${now}) - t0 ))"`,
    // The index: each member's line with its sha256 (names and numbers are this script's own).
    `while read -r name off size; do`,
    `  sum=$(${command('tail', '-c')} "+$((off + 1))" -- ${quote(partial)} | head -c "$size" | sha256hex)`,
    `  printf '%s %s %s %s\\n' "$name" "$off" "$size" "$sum" >> ${quote(index)}`,
    `done < ${quote(members)}`,
    `sum=$(sha256hex < ${quote(index)})`,
    `cat -- ${quote(index)} >> ${quote(partial)}`,
    `printf '${FOOTER_PREFIX}%015d\\n' "$(${command('stat', '-c', '%s', '--', index)})" >> ${quote(partial)}`,
    command('mv', '--', partial, s.artifact),
    'trap - EXIT',
    command('rm', '-rf', '--', stage),
    'printf \'%s\\n\' "$sum"',
    command('stat', '-c', '%s', '--', s.artifact),
  ].join('\n');
}

/** Parses captureScript's output. */
export function parseCaptureOutput(output: string): { pausedMs: number; sha256: string; size: number } {
  const lines = output.trim().split('\n');
  const paused = /^paused_ms=(\d+)$/.exec(lines.find((l) => l.startsWith('paused_ms=')) ?? '');
  const sum = /^([0-9a-f]{64})$/.exec(lines.at(-2) ?? '');
  const size = /^(\d+)$/.exec(lines.at(-1) ?? '');
  if (!paused || !sum || !size) {
    throw new Error(`unexpected output from the snapshot script: ${JSON.stringify(output.slice(-300))}`);
  }
  return { pausedMs: Number(paused[1]), sha256: sum[1] as string, size: Number(size[1]) };
}

/** Receives an artifact on stdin into its place (via a partial file, so a cut upload leaves nothing usable). */
export function receiveArtifactCommand(artifact: string): string {
  const partial = `${artifact}.partial`;
  return and(
    'umask 077',
    command('mkdir', '-p', '--', posix.dirname(artifact)),
    `cat > ${quote(partial)}`,
    command('mv', '--', partial, artifact),
  );
}

/** Deletes an artifact; succeeds when it is already gone. */
export function deleteArtifactCommand(artifact: string): string {
  return command('rm', '-f', '--', artifact, `${artifact}.partial`);
}
