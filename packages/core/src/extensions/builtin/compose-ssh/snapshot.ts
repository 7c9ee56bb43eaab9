import { createReadStream, createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { messageOf, SnapshotCorruptError, SnapshotError } from '../../../errors.js';
import type { RemoteHost } from '../../../records/host-target.js';
import type { SnapshotContents, SnapshotLocation } from '../../../records/snapshot.js';
import { command } from '../../../ssh/quote.js';
import type { SshSession } from '../../../ssh/session.js';
import type { ProgressFn, RestoreSource } from '../../contract.js';
import { type ComposeRuntime, inspectProjectCommand } from './commands.js';
import {
  artifactPathOf,
  captureScript,
  checksumCommand,
  parseCaptureOutput,
  receiveArtifactCommand,
  restoreVolumeCommand,
  restoreWorkspaceCommand,
  type VolumeMount,
} from './snapshot-commands.js';
import { parseContainers } from './status.js';

/**
 * Snapshot and restore for ext.compose-ssh, over an open session. The capture runs as one remote
 * script so the services are held still for as short a time as possible, and resumed by a `trap`
 * however it ends.
 */

export interface CaptureRequest {
  runtime: ComposeRuntime;
  project: string;
  dir: string;
  base: string;
  snapshotId: string;
  capture: Array<'workspace' | 'volumes'>;
  consistency: 'pause' | 'stop';
  stopTimeout: number;
  manifest: Record<string, unknown>;
}

export interface CaptureResult {
  artifact: string;
  sha256: string;
  size: number;
  pausedMs: number;
  contents: SnapshotContents;
}

export async function captureSnapshot(session: SshSession, request: CaptureRequest): Promise<CaptureResult> {
  const containers = parseContainers(
    await session.run(inspectProjectCommand(request.runtime, request.project), {
      what: 'inspecting the stack',
    }),
  );
  const volumes = request.capture.includes('volumes') ? namedVolumes(containers, request.project) : [];
  const contents: SnapshotContents = {
    workspace: request.capture.includes('workspace'),
    volumes: volumes.map(({ key, service, path }) => ({ key, service, path })),
  };
  const artifact = artifactPathOf(request.base, request.snapshotId);
  const script = captureScript({
    runtime: request.runtime,
    containers: containers.filter((c) => c.running).map((c) => c.id),
    consistency: request.consistency,
    stopTimeout: request.stopTimeout,
    workspaceDir: contents.workspace ? request.dir : undefined,
    volumes,
    artifact,
  });
  const output = await session.run(script, {
    stdin: `${JSON.stringify({ format: 1, ...request.manifest, contents }, null, 2)}\n`,
    what: 'capturing the snapshot',
    timeoutMs: 30 * 60_000,
  });
  const parsed = parseCaptureOutput(output);
  return { artifact, contents, sha256: parsed.sha256, size: parsed.size, pausedMs: parsed.pausedMs };
}

/** One mount per named volume of the project (the first container that mounts it), with its compose key. */
export function namedVolumes(containers: ReturnType<typeof parseContainers>, project: string): VolumeMount[] {
  const found = new Map<string, VolumeMount>();
  for (const c of containers) {
    for (const m of c.mounts) {
      // Only the project's own volumes: external ones belong to someone else and are not captured.
      if (m.Type !== 'volume' || !m.Name?.startsWith(`${project}_`)) continue;
      const key = m.Name.slice(project.length + 1);
      if (!found.has(key))
        found.set(key, { key, service: c.service, containerId: c.id, path: m.Destination });
    }
  }
  return [...found.values()];
}

/** Is this host-kept copy on the host we are connected to? Same address, port and user. */
export function isOnHost(location: SnapshotLocation, host: RemoteHost): boolean {
  if (location.kind !== 'host') return false;
  const there = (location.target as unknown as RemoteHost).ssh;
  return (
    location.host === host.name ||
    (there?.address === host.ssh.address && there.port === host.ssh.port && there.user === host.ssh.user)
  );
}

/**
 * Makes sure the artifact is on this host with the right checksum, uploading the verified local copy
 * if the host has none, and returns its path there. A copy whose checksum differs is refused before
 * anything is changed.
 */
export async function ensureArtifact(
  session: SshSession,
  host: RemoteHost,
  base: string,
  source: RestoreSource,
  progress: ProgressFn | undefined,
): Promise<string> {
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
  const sum = (await session.run(checksumCommand(path), { what: 'checksumming the snapshot' })).trim();
  if (sum === 'missing') {
    throw new SnapshotError(
      `snapshot ${snapshot.id}: its artifact ${path} is gone from ${host.name} (deleted by hand?); restore from another copy or delete the snapshot`,
      { snapshot: snapshot.id, path },
    );
  }
  if (sum !== snapshot.sha256) {
    throw new SnapshotCorruptError(
      `snapshot ${snapshot.id}: artifact ${path} on ${host.name} is corrupt (sha256 ${sum.slice(0, 16)}…, expected ${snapshot.sha256?.slice(0, 16)}…); nothing was restored`,
      { snapshot: snapshot.id, path, host: host.name },
    );
  }
  if (!here) {
    await source.addLocation?.({ kind: 'host', host: host.name, target: host, path });
  }
  return path;
}

/** Unpacks the workspace into the sandbox directory (emptied first, except its marker, for in place). */
export async function restoreWorkspace(
  session: SshSession,
  artifact: string,
  dir: string,
  inPlace: boolean,
): Promise<void> {
  await session.run(restoreWorkspaceCommand(artifact, dir, inPlace), {
    what: 'restoring the workspace',
    timeoutMs: 30 * 60_000,
  });
}

/** Copies each captured volume into the created (not yet started) containers of the restored stack. */
export async function restoreVolumes(
  session: SshSession,
  runtime: ComposeRuntime,
  project: string,
  artifact: string,
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
    await session.run(restoreVolumeCommand(runtime, artifact, { ...volume, containerId: container.id }), {
      what: `restoring volume ${volume.key}`,
      timeoutMs: 30 * 60_000,
    });
  }
}

/** Streams a host-kept artifact into a local file (via a partial file, renamed when complete). */
export async function downloadArtifact(session: SshSession, path: string, localPath: string): Promise<void> {
  const partial = `${localPath}.partial`;
  const out = createWriteStream(partial, { mode: 0o600 });
  let failure: unknown;
  out.on('error', (error) => {
    failure = error;
  });
  try {
    await session.run(`${command('cat', '--', path)}`, {
      onStdout: (chunk) => out.write(chunk),
      maxOutputBytes: 4096,
      what: 'downloading the snapshot',
      timeoutMs: 60 * 60_000,
    });
    await new Promise<void>((resolve, reject) =>
      out.end((error?: Error | null) => (error ? reject(error) : resolve())),
    );
    if (failure) throw failure;
    await rename(partial, localPath);
  } catch (error) {
    out.destroy();
    await rm(partial, { force: true });
    throw new SnapshotError(`downloading ${path} from ${session.destination} failed: ${messageOf(error)}`);
  }
}
