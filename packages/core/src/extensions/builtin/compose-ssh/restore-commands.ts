import { posix } from 'node:path';
import { and, command, quote } from '../../../ssh/quote.js';
import { FOOTER_BYTES, FOOTER_PREFIX, type IndexMember } from '../../../util/snapshot-index.js';
import { MARKER_FILE } from '../remote-workspace/workspace.js';
import type { ComposeRuntime } from './commands.js';
import { SHA256_FUNCTION } from './hash-command.js';
import { checkContainerId, checkVolume, type VolumeMount } from './snapshot-commands.js';

/**
 * Pure builders for the shell scripts ext.compose-ssh runs to read a snapshot artifact back, in
 * either format (util/snapshot-index.ts). Format 1 is checksummed as a whole before it is used;
 * format 2 is checked member by member as each member is consumed, so the data is read once.
 */

/** How an artifact is laid out, as found by `probeArtifactCommand`. */
export type ArtifactLayout = { format: 1 } | { format: 2; members: IndexMember[] };

/**
 * Prints `missing`; or `format 1` and the sha256 of the whole file (one pass, as format 1 must be
 * checked before use); or `format 2` and the index's text (a few hundred bytes read from the end).
 * The index length comes from the footer through `sed`, digits only, never evaluated as shell text.
 */
export function probeArtifactCommand(artifact: string): string {
  const q = quote(artifact);
  const length = `$(tail -c ${FOOTER_BYTES} -- ${q} | sed -n 's/^${FOOTER_PREFIX}0*\\([1-9][0-9]*\\)$/\\1/p')`;
  return [
    SHA256_FUNCTION,
    `if [ ! -f ${q} ]; then echo missing`,
    `elif n=${length}; [ -z "$n" ]; then echo 'format 1'; sha256hex < ${q}`,
    `else echo 'format 2'; tail -c "$((n + ${FOOTER_BYTES}))" -- ${q} | head -c "$n"`,
    'fi',
  ].join('\n');
}

/** Prints the sha256 of each member's bytes, one line each, in the order given (a full check). */
export function memberChecksumsCommand(artifact: string, members: IndexMember[]): string {
  return [SHA256_FUNCTION, ...members.map((m) => `${sliceOf(artifact, m)} | sha256hex`)].join('\n');
}

/** extractVerifiedCommand's exit status when the member's bytes are not the ones the index names (EX_DATAERR). */
export const CORRUPT_MEMBER_EXIT = 65;

/**
 * Feeds one member to `consumer` while `sha256hex` reads the same bytes through a FIFO, and compares
 * the sum with the index's: the check costs no second read. A mismatch exits CORRUPT_MEMBER_EXIT
 * with both sums on stderr, and the caller rolls back what the member went into; on success it
 * prints `sha256=<hex>`. A consumer that fails (its own status is kept) also stops the checksum
 * short, so only then is the member read again, to tell a corrupt member from a failed consumer.
 */
export function extractVerifiedCommand(artifact: string, member: IndexMember, consumer: string): string {
  const q = quote(artifact);
  const slice = sliceOf(artifact, member);
  return [
    'set -e',
    SHA256_FUNCTION,
    `[ -f ${q} ] || { echo ${quote(`${artifact}: no such artifact`)} >&2; exit 1; }`,
    'v=$(mktemp -d)',
    `trap 'rm -rf -- "$v"' EXIT`,
    'mkfifo "$v/fifo"',
    'sha256hex < "$v/fifo" > "$v/sum" &',
    'rc=0',
    `${slice} | tee -- "$v/fifo" | { ${consumer}; } || rc=$?`,
    'wait $! || true',
    'sum=$(cat "$v/sum")',
    `if [ "$rc" != 0 ]; then sum=$(${slice} | sha256hex); fi`,
    `if [ "$sum" != ${quote(member.sha256)} ]; then`,
    `  printf 'member %s: sha256 %s, expected %s\\n' ${quote(member.name)} "$sum" ${quote(member.sha256)} >&2`,
    `  exit ${CORRUPT_MEMBER_EXIT}`,
    'fi',
    `[ "$rc" != ${CORRUPT_MEMBER_EXIT} ] || rc=1`,
    `printf 'sha256=%s\\n' "$sum"`,
    'exit "$rc"',
  ].join('\n');
}

/** Parses extractVerifiedCommand's last line. */
export function parseExtractOutput(output: string): string | undefined {
  return /(?:^|\n)sha256=([0-9a-f]{64})\n?$/.exec(output)?.[1];
}

/** The bytes of one member of a format 2 artifact, on stdout (`tail` seeks on a regular file). */
function sliceOf(artifact: string, member: IndexMember): string {
  return `${command('tail', '-c', `+${member.offset + 1}`, '--', artifact)} | ${command('head', '-c', String(member.size))}`;
}

/** Format 1's member, on stdout: listed first, as sh has no pipefail and a missing member must fail. */
function tarMemberOf(artifact: string, member: string, consumer: string): string {
  return and(
    `${command('tar', '-tf', artifact, member)} >/dev/null`,
    `${command('tar', '-xOf', artifact, member)} | ${consumer}`,
  );
}

function clearCommand(dir: string): string {
  return command(
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
  );
}

/**
 * Empties a sandbox directory except its marker (for an in-place restore), then unpacks the
 * snapshot's workspace into it. Format 2 prints the member's checksum (extractVerifiedCommand).
 */
export function restoreWorkspaceCommand(
  artifact: string,
  layout: { format: 1 } | { format: 2; member: IndexMember },
  dir: string,
  clearFirst: boolean,
): string {
  const unpack = command('tar', '-C', dir, '-xf', '-');
  if (layout.format === 2) {
    const extract = extractVerifiedCommand(artifact, layout.member, unpack);
    return clearFirst ? `${clearCommand(dir)}\n${extract}` : extract;
  }
  // The member is checked before the directory is emptied: a bad artifact must change nothing.
  const steps: string[] = [`${command('tar', '-tf', artifact, 'workspace.tar')} >/dev/null`];
  if (clearFirst) steps.push(clearCommand(dir));
  steps.push(tarMemberOf(artifact, 'workspace.tar', unpack));
  return and(...steps);
}

/**
 * Streams one captured volume into a created (not yet started) container of the restored stack.
 * Format 2 prints the member's checksum (extractVerifiedCommand).
 */
export function restoreVolumeCommand(
  runtime: ComposeRuntime,
  artifact: string,
  layout: { format: 1 } | { format: 2; member: IndexMember },
  volume: Pick<VolumeMount, 'key' | 'path' | 'containerId'>,
): string {
  checkVolume(volume);
  checkContainerId(volume.containerId);
  // `docker cp C:/data -` names its entries `data/…`, so they go back into the mount's parent;
  // Podman 4.3's names them `/…` (the directory itself), so they go into the mount. An artifact is
  // therefore read back by the engine that wrote it (docs/snapshots.md).
  const parent = runtime.engine === 'podman' ? volume.path : posix.dirname(volume.path);
  const consumer = command(runtime.engine, 'cp', '-', `${volume.containerId}:${parent}`);
  return layout.format === 2
    ? extractVerifiedCommand(artifact, layout.member, consumer)
    : tarMemberOf(artifact, `volumes/${volume.key}.tar`, consumer);
}
