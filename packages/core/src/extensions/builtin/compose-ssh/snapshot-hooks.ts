import { InputError } from '../../../errors.js';
import type { SandboxHandle } from '../../../records/handle.js';
import type { HostTarget } from '../../../records/host-target.js';
import type { SnapshotContents, SnapshotLocation } from '../../../records/snapshot.js';
import type {
  ProgressFn,
  RestoreSource,
  RestoreTarget,
  SnapshotArtifact,
  SnapshotRequest,
} from '../../contract.js';
import { hostOfHandle, remoteHostOf, type SessionPool } from '../remote-workspace/ssh-access.js';
import { createWorkspace, resolveBaseDir, sandboxDirOf } from '../remote-workspace/workspace.js';
import { composeCommand, composeDownArgs, LABELS_FILE } from './commands.js';
import { type ComposeInputs, DEFAULT_STOP_GRACE, SNAPSHOT_STOP_GRACE } from './inputs.js';
import { resolveRuntime } from './runtime-detect.js';
import { captureSnapshot, downloadArtifact } from './snapshot.js';
import { artifactPathOf, deleteArtifactCommand } from './snapshot-commands.js';
import { ensureArtifact, type HostArtifact, restoreVolumes, restoreWorkspace } from './snapshot-restore.js';
import {
  type ComposeHandle,
  configureStack,
  type Stack,
  type StackRequest,
  type StackSettings,
  stackSwitchCommand,
  upStack,
} from './stack.js';

/**
 * ext.compose-ssh's snapshot hooks: capture a stack, restore it as a new sandbox or in place, and
 * move or delete its artifacts. See docs/snapshots.md for what is captured and how consistently.
 */

/** Captures a ready stack into an artifact kept on its host. */
export async function snapshotCompose(
  settings: StackSettings,
  raw: SandboxHandle,
  request: SnapshotRequest,
): Promise<SnapshotArtifact> {
  const handle = raw as ComposeHandle;
  const host = hostOfHandle(handle, settings.extensionId);
  return settings.access.with(host.ssh, async (session) => {
    const base = await resolveBaseDir(session, host.base_dir ?? settings.baseDir, 'base_dir');
    const runtime = await resolveRuntime(session, handle.compose_command ?? settings.composeCommand);
    request.progress?.(
      `capturing ${request.capture.join(' and ')} of ${handle.compose_project} (services ${request.consistency === 'pause' ? 'paused' : 'stopped'} meanwhile)`,
    );
    const result = await captureSnapshot(session, {
      runtime,
      project: `sbx-${handle.sandbox_id}`,
      dir: sandboxDirOf(base, handle.sandbox_id),
      base,
      snapshotId: request.snapshotId,
      capture: request.capture,
      consistency: request.consistency,
      // Stopped services keep their data here: never less than the usual grace.
      stopTimeout: Math.max(handle.stop_timeout ?? DEFAULT_STOP_GRACE, SNAPSHOT_STOP_GRACE),
      manifest: {
        snapshot_id: request.snapshotId,
        sandbox_id: handle.sandbox_id,
        created_at: new Date().toISOString(),
      },
    });
    request.progress?.(
      `snapshot ${request.snapshotId}: ${result.size} bytes on ${host.name}, services ${request.consistency === 'pause' ? 'paused' : 'stopped'} for ${result.pausedMs} ms`,
    );
    return {
      location: { kind: 'host', host: host.name, target: host, path: result.artifact },
      size_bytes: result.size,
      sha256: result.sha256,
      contents: result.contents,
      consistency: request.consistency,
      paused_ms: result.pausedMs,
      inputs: {
        compose_files: (handle.compose_files ?? []).filter((f) => f !== LABELS_FILE).join(','),
        services: (handle.services ?? []).join(','),
        stop_timeout: String(handle.stop_timeout ?? DEFAULT_STOP_GRACE),
        wait_timeout: String(handle.wait_timeout ?? 120),
      },
    };
  });
}

/** Restores into a new stack (in place of provision) or over a live one; see docs/snapshots.md. */
export async function restoreCompose(
  settings: StackSettings,
  prepare: (request: StackRequest) => Promise<Stack>,
  sessions: SessionPool,
  source: RestoreSource,
  target: RestoreTarget<ComposeInputs>,
): Promise<SandboxHandle> {
  const { snapshot } = source;
  const contents = snapshot.contents ?? { workspace: false, volumes: [] };
  if (target.mode === 'new') {
    const { request } = target;
    const stack = await prepare(request);
    const { session, host, dir } = stack;
    // Its index is checked (and the artifact uploaded if need be) before anything is made on the
    // host; each member is checked as it is extracted, and a mismatch rolls the new sandbox back.
    const artifact = await ensureArtifact(session, host, stack.base, source, request.progress, false);
    request.progress?.(`creating ${dir} from snapshot ${snapshot.id}`);
    await createWorkspace(
      session,
      stack.base,
      dir,
      {
        sandbox_id: request.sandboxId,
        extension: settings.extensionId,
        restored_from: snapshot.id,
        ...stack.labels,
      },
      stackSwitchCommand(stack),
    );
    if (contents.workspace) await restoreWorkspace(session, artifact, dir, false);
    return startRestored(stack, artifact, contents, request.progress);
  }
  const handle = target.handle as ComposeHandle;
  const stack = await prepare({
    sandboxId: handle.sandbox_id,
    inputs: target.inputs,
    host: hostOfHandle(handle, settings.extensionId),
    createdAt: target.createdAt,
    expiresAt: target.expiresAt,
    ...(target.progress ? { progress: target.progress } : {}),
    ...(target.signal ? { signal: target.signal } : {}),
  });
  const host = stack.host;
  const { session, dir, project } = stack;
  try {
    // Every member is checked before `down -v`: a corrupt artifact must not cost the live data.
    const artifact = await ensureArtifact(session, host, stack.base, source, target.progress, true);
    target.progress?.(
      `${project.runtime.words.join(' ')} -p ${project.project} down -v (restoring in place)`,
    );
    await session.run(
      composeCommand(
        { ...project, files: handle.compose_files ?? project.files },
        ...composeDownArgs(project.runtime, handle.stop_timeout ?? DEFAULT_STOP_GRACE, { keepImages: true }),
      ),
      { what: 'compose down', timeoutMs: 10 * 60_000 },
    );
    if (contents.workspace) await restoreWorkspace(session, artifact, dir, true);
    return await startRestored(stack, artifact, contents, target.progress);
  } finally {
    session.close();
    sessions.drop(handle.sandbox_id);
  }
}

/** Labels, `up --no-start`, the volumes copied in, then `up -d`: services first run on restored data. */
async function startRestored(
  stack: Stack,
  artifact: HostArtifact,
  contents: SnapshotContents,
  progress: ProgressFn | undefined,
): Promise<ComposeHandle> {
  const handle = await configureStack(stack, progress);
  if (contents.volumes.length > 0) {
    await upStack(stack, progress, '--no-start');
    await restoreVolumes(
      stack.session,
      stack.project.runtime,
      stack.project.project,
      artifact,
      contents.volumes,
      progress,
    );
  }
  handle.ready_by = await upStack(stack, progress);
  return handle;
}

/** Streams a host-kept artifact into a local file. */
export async function pullComposeArtifact(
  settings: StackSettings,
  location: SnapshotLocation,
  localPath: string,
): Promise<void> {
  if (location.kind !== 'host')
    throw new InputError(`${settings.extensionId}: can only pull a copy kept on a host`);
  const host = remoteHostOf(location.target as HostTarget, settings.extensionId);
  await settings.access.with(host.ssh, (session) => downloadArtifact(session, location.path, localPath));
}

/** Deletes a host-kept artifact, only ever at a path this extension would have made. */
export async function deleteComposeArtifact(
  settings: StackSettings,
  location: SnapshotLocation,
): Promise<void> {
  if (location.kind !== 'host') return;
  const host = remoteHostOf(location.target as HostTarget, settings.extensionId);
  await settings.access.with(host.ssh, async (session) => {
    const base = await resolveBaseDir(session, host.base_dir ?? settings.baseDir, 'base_dir');
    // Only ever a path this extension would have made: never trust a path from a state file blindly.
    const id =
      location.path
        .split('/')
        .pop()
        ?.replace(/\.tar$/, '') ?? '';
    const expected = artifactPathOf(base, id);
    if (expected !== location.path) {
      throw new InputError(
        `${settings.extensionId}: refusing to delete ${location.path}: not a snapshot artifact under ${base}`,
      );
    }
    await session.run(deleteArtifactCommand(expected), { what: 'deleting the snapshot artifact' });
  });
}
