import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { messageOf, SnapshotError } from '../../../errors.js';
import type { RemoteHost } from '../../../records/host-target.js';
import type { SnapshotContents, SnapshotLocation } from '../../../records/snapshot.js';
import { command } from '../../../ssh/quote.js';
import type { SshSession } from '../../../ssh/session.js';
import { type ComposeRuntime, inspectProjectCommand } from './commands.js';
import { artifactPathOf, captureScript, parseCaptureOutput, type VolumeMount } from './snapshot-commands.js';
import { parseContainers } from './status.js';

/**
 * Snapshot capture for ext.compose-ssh, over an open session, and moving artifacts (reading one back
 * is snapshot-restore.ts). The capture runs as one remote script so the services are held still for
 * as short a time as possible, and resumed by a `trap` however it ends.
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
    stdin: `${JSON.stringify({ format: 2, ...request.manifest, contents }, null, 2)}\n`,
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
