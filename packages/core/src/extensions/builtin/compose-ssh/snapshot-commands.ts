import { posix } from 'node:path';
import { InputError } from '../../../errors.js';
import { and, command, quote, remotePathInside } from '../../../ssh/quote.js';
import { isSnapshotId } from '../../../util/snapshot-ids.js';
import { MARKER_FILE } from '../remote-workspace/workspace.js';
import { type ComposeRuntime, LABELS_FILE } from './commands.js';

/**
 * Pure builders for the shell scripts ext.compose-ssh runs to capture and restore a snapshot.
 * Every value is quoted; container ids and volume keys are checked against what the engine itself
 * produces. Tested by table, including hostile values.
 *
 * The artifact is one uncompressed tar on the host: `manifest.json`, `workspace.tar` (the sandbox
 * directory without its marker and generated labels file) and `volumes/<key>.tar` (what
 * `docker cp <container>:<mount> -` streams for each named volume).
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

function checkContainerId(id: string): string {
  if (!CONTAINER_ID.test(id)) throw new InputError(`not a container id: ${JSON.stringify(id)}`);
  return id;
}

function checkVolume(volume: Pick<VolumeMount, 'key' | 'path'>): void {
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
 * Builds the artifact in a staging directory while the services are paused (or stopped), resumes
 * them, then packs and checksums it. Reads the manifest from stdin. The `trap` resumes the services
 * and removes the staging files however the script ends (an error, a dropped connection's SIGHUP).
 * Prints `paused_ms=<n>`, then `sha256sum`'s line, then the size in bytes.
 */
export function captureScript(s: CaptureScript): string {
  const ids = s.containers.map(checkContainerId);
  for (const v of s.volumes) {
    checkVolume(v);
    checkContainerId(v.containerId);
  }
  const stage = `${s.artifact}.stage`;
  const partial = `${s.artifact}.partial`;
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
      `${command('tar', '-C', s.workspaceDir, `--exclude=./${MARKER_FILE}`, `--exclude=./${LABELS_FILE}`, '-cf', `${stage}/workspace.tar`, '.')}`,
    );
  }
  for (const v of s.volumes) {
    captures.push(
      `${command(e, 'cp', `${v.containerId}:${v.path}`, '-')} > ${quote(`${stage}/volumes/${v.key}.tar`)}`,
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
    command('mkdir', '-p', '--', posix.dirname(s.artifact)),
    command('mkdir', '--', stage, `${stage}/volumes`),
    `cat > ${quote(`${stage}/manifest.json`)}`,
    `t0=$(${now})`,
    'trap "resume; cleanup" EXIT',
    hold,
    ...captures,
    'trap cleanup EXIT',
    'resume',
    `echo "paused_ms=$(( $(${now}) - t0 ))"`,
    // Packed and checksummed in one pass: the checksum is computed as the artifact is written, not
    // by reading it back (on a 2-CPU host the two still share the CPUs: 11.2 s/GiB in all, against
    // 10.8 before, within the run-to-run spread). sh has no pipefail: a failed tar or tee leaves a
    // flag file, checked before the artifact is kept.
    `sum=$({ ${command('tar', '-C', stage, '-cf', '-', 'manifest.json', ...(s.workspaceDir ? ['workspace.tar'] : []), 'volumes')} || : > ${quote(`${stage}/failed`)}; } | { ${command('tee', '--', partial)} || : > ${quote(`${stage}/failed`)}; } | sha256sum)`,
    `[ ! -e ${quote(`${stage}/failed`)} ]`,
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
  const sum = /^([0-9a-f]{64})\s/.exec(lines.at(-2) ?? '');
  const size = /^(\d+)$/.exec(lines.at(-1) ?? '');
  if (!paused || !sum || !size) {
    throw new Error(`unexpected output from the snapshot script: ${JSON.stringify(output.slice(-300))}`);
  }
  return { pausedMs: Number(paused[1]), sha256: sum[1] as string, size: Number(size[1]) };
}

/** Prints the artifact's sha256, or `missing` when it is not there. */
export function checksumCommand(artifact: string): string {
  const q = quote(artifact);
  return `if [ -f ${q} ]; then sha256sum < ${q} | cut -d' ' -f1; else echo missing; fi`;
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

/**
 * Empties a sandbox directory except its marker (for an in-place restore), then unpacks the
 * snapshot's workspace into it.
 */
export function restoreWorkspaceCommand(artifact: string, dir: string, clearFirst: boolean): string {
  // The member is checked before the directory is emptied: a bad artifact must change nothing.
  const steps: string[] = [`${command('tar', '-tf', artifact, 'workspace.tar')} >/dev/null`];
  if (clearFirst) {
    steps.push(
      command(
        'find',
        dir,
        '-mindepth',
        '1',
        '-maxdepth',
        '1',
        '!',
        '-name',
        MARKER_FILE,
        '-exec',
        'rm',
        '-rf',
        '--',
        '{}',
        '+',
      ),
    );
  }
  steps.push(extractMemberCommand(artifact, 'workspace.tar', command('tar', '-C', dir, '-xf', '-')));
  return and(...steps);
}

/** Streams one captured volume into a created (not yet started) container of the restored stack. */
export function restoreVolumeCommand(
  runtime: ComposeRuntime,
  artifact: string,
  volume: Pick<VolumeMount, 'key' | 'path' | 'containerId'>,
): string {
  checkVolume(volume);
  checkContainerId(volume.containerId);
  // `docker cp C:/data -` names its entries `data/…`, so they go back into the mount's parent;
  // Podman 4.3's names them `/…` (the directory itself), so they go into the mount. An artifact is
  // therefore read back by the engine that wrote it (docs/snapshots.md).
  const parent = runtime.engine === 'podman' ? volume.path : posix.dirname(volume.path);
  return extractMemberCommand(
    artifact,
    `volumes/${volume.key}.tar`,
    command(runtime.engine, 'cp', '-', `${volume.containerId}:${parent}`),
  );
}

/**
 * Pipes one member of the artifact into `consumer`. The member is listed first: a POSIX `sh` has no
 * `pipefail`, and a missing member must fail the step rather than feed the consumer nothing.
 */
function extractMemberCommand(artifact: string, member: string, consumer: string): string {
  return and(
    `${command('tar', '-tf', artifact, member)} >/dev/null`,
    `${command('tar', '-xOf', artifact, member)} | ${consumer}`,
  );
}
