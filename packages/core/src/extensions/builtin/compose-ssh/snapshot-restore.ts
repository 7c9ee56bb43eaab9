import { createReadStream } from 'node:fs';
import { RemoteCommandError, SnapshotCorruptError, SnapshotError } from '../../../errors.js';
import type { RemoteHost } from '../../../records/host-target.js';
import type { SnapshotContents } from '../../../records/snapshot.js';
import type { SshSession } from '../../../ssh/session.js';
import { type IndexMember, indexDigest, parseSnapshotIndex } from '../../../util/snapshot-index.js';
import type { ProgressFn, RestoreSource } from '../../contract.js';
import { type ComposeRuntime, inspectProjectCommand } from './commands.js';
import {
  type ArtifactLayout,
  CORRUPT_MEMBER_EXIT,
  memberChecksumsCommand,
  parseExtractOutput,
  probeArtifactCommand,
  restoreVolumeCommand,
  restoreWorkspaceCommand,
} from './restore-commands.js';
import { isOnHost } from './snapshot.js';
import { artifactPathOf, receiveArtifactCommand } from './snapshot-commands.js';
import { parseContainers } from './status.js';

/**
 * Reading a snapshot back for ext.compose-ssh, over an open session: the artifact found (uploaded if
 * need be) and checked on the host, then the workspace and each volume streamed out of it, each
 * member of a format 2 artifact checked as it streams.
 */

/** A host-kept artifact ready to read back: whose it is, where it is and how it is laid out. */
export interface HostArtifact {
  snapshotId: string;
  path: string;
  layout: ArtifactLayout;
}

/** `sha256 <16 hex>…, expected <16 hex>…`: what a corrupt artifact's error says of a checksum. */
function mismatch(actual: string, expected: string | undefined): string {
  return `sha256 ${actual.slice(0, 16)}…, expected ${expected?.slice(0, 16)}…`;
}

/** The error for an artifact whose bytes are not the recorded ones (`why`); `host` when it is known. */
function corruptArtifact(snapshotId: string, path: string, why: string, host?: string): SnapshotCorruptError {
  return new SnapshotCorruptError(
    `snapshot ${snapshotId}: artifact ${path}${host ? ` on ${host}` : ''} is corrupt (${why}); nothing was restored`,
    { snapshot: snapshotId, path, ...(host ? { host } : {}) },
  );
}

/**
 * Makes sure the artifact is on this host with the right checksum, uploading the verified local copy
 * if the host has none, and returns its path and layout there. A copy whose checksum differs is
 * refused before anything is changed. Format 1 is hashed whole here; for format 2 only its index is
 * checked here (a few hundred bytes) and each member as it is extracted, unless `checkData` asks for
 * every member now: an in-place restore empties the live sandbox first, so it must not find out
 * half-way, and a fresh upload is checked before it is recorded as a copy.
 */
export async function ensureArtifact(
  session: SshSession,
  host: RemoteHost,
  base: string,
  source: RestoreSource,
  progress: ProgressFn | undefined,
  checkData = true,
): Promise<HostArtifact> {
  const { snapshot } = source;
  const here = snapshot.locations.find((l) => isOnHost(l, host));
  let path = here?.kind === 'host' ? here.path : artifactPathOf(base, snapshot.id);
  if (!here) {
    if (!source.localPath) {
      throw new SnapshotError(
        `snapshot ${snapshot.id} has no copy on ${host.name} nor on this machine (pull it to this machine first)`,
        { snapshot: snapshot.id },
      );
    }
    progress?.(`uploading snapshot ${snapshot.id} (${snapshot.size_bytes ?? '?'} bytes) to ${host.name}`);
    await session.run(receiveArtifactCommand(path), {
      stdin: createReadStream(source.localPath),
      what: 'uploading the snapshot',
      timeoutMs: 60 * 60_000,
    });
    path = artifactPathOf(base, snapshot.id);
  }
  progress?.(`verifying snapshot ${snapshot.id} on ${host.name}`);
  const probe = await session.run(probeArtifactCommand(path), {
    what: 'checking the snapshot',
    timeoutMs: 30 * 60_000,
  });
  const corrupt = (why: string) => corruptArtifact(snapshot.id, path, why, host.name);
  let layout: ArtifactLayout;
  if (probe.trim() === 'missing') {
    throw new SnapshotError(
      `snapshot ${snapshot.id}: its artifact ${path} is gone from ${host.name} (deleted by hand?); restore from another copy or delete the snapshot`,
      { snapshot: snapshot.id, path },
    );
  } else if (probe.startsWith('format 2\n')) {
    const index = probe.slice('format 2\n'.length);
    const digest = indexDigest(index);
    if (digest !== snapshot.sha256) throw corrupt(mismatch(digest, snapshot.sha256));
    const members = parseSnapshotIndex(index);
    if (typeof members === 'string') throw corrupt(members);
    if (checkData || !here) {
      const sums = (
        await session.run(memberChecksumsCommand(path, members), {
          what: 'checksumming the snapshot',
          timeoutMs: 30 * 60_000,
        })
      ).split('\n');
      members.forEach((m, i) => {
        if (sums[i] !== m.sha256) throw corrupt(`member ${m.name}: ${mismatch(sums[i] ?? '', m.sha256)}`);
      });
    }
    layout = { format: 2, members };
  } else {
    const sum = probe.split('\n')[1]?.trim() ?? '';
    if (sum !== snapshot.sha256) throw corrupt(mismatch(sum, snapshot.sha256));
    layout = { format: 1 };
  }
  if (!here) {
    await source.addLocation?.({ kind: 'host', host: host.name, target: host, path });
  }
  return { snapshotId: snapshot.id, path, layout };
}

/** The layout restoreWorkspaceCommand/restoreVolumeCommand take for one member. */
function memberLayout(
  artifact: HostArtifact,
  name: string,
): { format: 1 } | { format: 2; member: IndexMember } {
  if (artifact.layout.format === 1) return artifact.layout;
  const member = artifact.layout.members.find((m) => m.name === name);
  if (!member) {
    throw new SnapshotCorruptError(
      `snapshot ${artifact.snapshotId}: artifact ${artifact.path} has no member ${name}; nothing was restored`,
      { snapshot: artifact.snapshotId, path: artifact.path },
    );
  }
  return { format: 2, member };
}

/**
 * Runs one member's extraction. For format 2 the script checks the member's checksum as it streams
 * it; a mismatch is a corrupt artifact, and the caller's rollback removes what was made from it.
 */
async function extractMember(
  session: SshSession,
  artifact: HostArtifact,
  layout: { format: 1 } | { format: 2; member: IndexMember },
  script: string,
  what: string,
): Promise<void> {
  const corrupt = (actual: string | undefined, member: IndexMember) =>
    corruptArtifact(
      artifact.snapshotId,
      artifact.path,
      `member ${member.name}: ${mismatch(actual ?? '?', member.sha256)}`,
    );
  let output: string;
  try {
    output = await session.run(script, { what, timeoutMs: 30 * 60_000 });
  } catch (error) {
    if (
      layout.format === 2 &&
      error instanceof RemoteCommandError &&
      error.exitCode === CORRUPT_MEMBER_EXIT
    ) {
      throw corrupt(/sha256 ([0-9a-f]{64}), expected/.exec(error.message)?.[1], layout.member);
    }
    throw error;
  }
  if (layout.format === 2 && parseExtractOutput(output) !== layout.member.sha256) {
    throw corrupt(parseExtractOutput(output), layout.member);
  }
}

/** Unpacks the workspace into the sandbox directory (emptied first, except its marker, for in place). */
export async function restoreWorkspace(
  session: SshSession,
  artifact: HostArtifact,
  dir: string,
  inPlace: boolean,
): Promise<void> {
  const layout = memberLayout(artifact, 'workspace.tar');
  const script = restoreWorkspaceCommand(artifact.path, layout, dir, inPlace);
  await extractMember(session, artifact, layout, script, 'restoring the workspace');
}

/** Copies each captured volume into the created (not yet started) containers of the restored stack. */
export async function restoreVolumes(
  session: SshSession,
  runtime: ComposeRuntime,
  project: string,
  artifact: HostArtifact,
  volumes: SnapshotContents['volumes'],
  progress: ProgressFn | undefined,
): Promise<void> {
  if (volumes.length === 0) return;
  const containers = parseContainers(
    await session.run(inspectProjectCommand(runtime, project), { what: 'inspecting the restored stack' }),
  );
  for (const volume of volumes) {
    const container = containers.find(
      (c) => c.service === volume.service && c.mounts.some((m) => m.Destination === volume.path),
    );
    if (!container) {
      throw new SnapshotError(
        `volume ${volume.key}: no container of service ${volume.service} mounts ${volume.path} in the restored stack (was the compose file changed?)`,
      );
    }
    progress?.(`restoring volume ${volume.key} (${volume.service}:${volume.path})`);
    const layout = memberLayout(artifact, `volumes/${volume.key}.tar`);
    const script = restoreVolumeCommand(runtime, artifact.path, layout, {
      ...volume,
      containerId: container.id,
    });
    await extractMember(session, artifact, layout, script, `restoring volume ${volume.key}`);
  }
}
