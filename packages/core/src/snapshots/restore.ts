import {
  InputError,
  messageOf,
  ProvisionError,
  SandboxerError,
  SnapshotCorruptError,
  SnapshotError,
  StateConflictError,
} from '../errors.js';
import type { OperationOptions, RestoreSource, SandboxExtension } from '../extensions/contract.js';
import { handleOf, lockKey } from '../lifecycle/keys.js';
import { checkInputs, planCreate } from '../lifecycle/plan.js';
import type { SandboxRecord } from '../records/sandbox.js';
import type { SnapshotRecord } from '../records/snapshot.js';
import { verifyLocalArtifact } from './artifact.js';
import { addLocation, pullSnapshot } from './copies.js';
import { getSnapshot, snapshotCapable, usable } from './lookup.js';
import { type RestoreOptions, type SnapshotDeps, snapshotErrorOf } from './types.js';

/**
 * Brings a snapshot back. `new`: a create like any other (routing, credits, wait-ready) whose
 * workspace and volumes come from the artifact. `in-place`: over a ready sandbox of the same
 * extension, which keeps its id. Checksums are verified before anything is changed.
 */
export async function restoreSnapshot(
  deps: SnapshotDeps,
  ref: string,
  options: RestoreOptions = {},
): Promise<SandboxRecord> {
  const snapshot = usable(await getSnapshot(deps.lifecycle.deps.store, ref));
  const extension = await snapshotCapable(deps, snapshot.extension);
  if ((options.mode ?? 'new') === 'new') {
    if (options.sandbox) {
      throw new InputError('mode: only an in-place restore restores over a given sandbox', { field: 'mode' });
    }
    return restoreAsNew(deps, snapshot, extension, options);
  }
  if (options.host) {
    throw new InputError('mode: an in-place restore stays on its sandbox; a host is for new restores', {
      field: 'mode',
    });
  }
  return restoreInPlace(deps, snapshot, extension, options);
}

/** A create through routing, credits and wait-ready, made by the extension's restore instead of provision. */
async function restoreAsNew(
  deps: SnapshotDeps,
  snapshot: SnapshotRecord,
  extension: SandboxExtension,
  options: RestoreOptions,
): Promise<SandboxRecord> {
  // Where it goes is checked like any create's host; by default, back where it was taken.
  const plan = await planCreate(
    await deps.planning(),
    {
      profile: snapshot.profile,
      ...(options.host ? { host: options.host } : {}),
      ...(options.inputs ? { inputs: options.inputs } : {}),
      ...(options.ttl !== undefined ? { ttl: options.ttl } : {}),
      ...(options.consumer ? { consumer: options.consumer } : {}),
      ...(options.account ? { account: options.account } : {}),
    },
    snapshot,
  );
  if (plan.host === undefined && extension.hostKind === 'ssh') plan.host = snapshot.host;
  // Pulled and verified before anything is recorded: a corrupt artifact creates nothing.
  const source = await sourceFor(deps, snapshot, extension, plan.host, options.progress);
  try {
    return await deps.lifecycle.create(plan, {
      ...(options.progress ? { progress: options.progress } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.onRecord ? { onRecord: options.onRecord } : {}),
      make: (chosen, request) => {
        if (!chosen.restore) throw new InputError(`${chosen.id} cannot restore snapshots`);
        return chosen.restore(source, { mode: 'new', request });
      },
    });
  } catch (error) {
    // A refused or failed restore keeps its own code (a corrupt artifact is not a provisioning failure).
    const cause = error instanceof ProvisionError ? error.cause : undefined;
    if (cause instanceof SnapshotError || cause instanceof SnapshotCorruptError) throw cause;
    throw error;
  }
}

/** Over a ready sandbox of the same extension, under its lock; it keeps its id and its life. */
async function restoreInPlace(
  deps: SnapshotDeps,
  snapshot: SnapshotRecord,
  extension: SandboxExtension,
  options: RestoreOptions,
): Promise<SandboxRecord> {
  const { lifecycle } = deps;
  const sandboxId = (await lifecycle.get(options.sandbox ?? snapshot.sandbox_id)).id;
  return lifecycle.deps.store.withLock(lockKey(sandboxId), async () => {
    const record = await lifecycle.get(sandboxId);
    if (record.state !== 'ready') {
      throw new StateConflictError(
        `sandbox ${record.id} is ${record.state}: restore in place needs a ready sandbox (or restore as a new one)`,
        { sandbox: record.id, state: record.state },
      );
    }
    if (record.extension !== snapshot.extension) {
      throw new InputError(
        `snapshot ${snapshot.id} was taken with ${snapshot.extension}; sandbox ${record.id} runs on ${record.extension}`,
      );
    }
    const planning = await deps.planning();
    const raw = await checkInputs(
      planning,
      planning.catalog.profile(record.profile),
      options.inputs ?? {},
      snapshot.inputs,
    );
    const inputs = extension.validateInputs(raw, { restore: true });
    const source = await sourceFor(deps, snapshot, extension, record.host, options.progress);
    const { progress, signal } = options;
    const operation = { ...(progress ? { progress } : {}), ...(signal ? { signal } : {}) };
    progress?.(`sandbox ${record.id}: restoring snapshot ${snapshot.id} in place`);
    let handle: SandboxRecord['handle'];
    let reachability: SandboxRecord['reachability'];
    try {
      handle = await (extension.restore as NonNullable<SandboxExtension['restore']>)(source, {
        mode: 'in-place',
        handle: handleOf(record),
        createdAt: new Date(record.created_at),
        expiresAt: new Date(record.expires_at),
        inputs,
        ...operation,
      });
      progress?.(`sandbox ${record.id}: waiting until ready`);
      reachability = await extension.waitReady(handle, operation);
    } catch (error) {
      await lifecycle.save({ ...record, error: { step: 'restore', ...snapshotErrorOf(error) } });
      if (error instanceof SandboxerError && error.code.startsWith('SNAPSHOT_')) throw error;
      throw new SnapshotError(
        `sandbox ${record.id}: restoring ${snapshot.id} in place failed: ${messageOf(error)} (the sandbox is still registered: retry, or destroy it)`,
        { sandbox: record.id, snapshot: snapshot.id },
        { cause: error },
      );
    }
    const { error: _previous, ...rest } = record;
    const saved = await lifecycle.save({ ...rest, handle, reachability, restored_from: snapshot.id });
    progress?.(`sandbox ${record.id}: restored from ${snapshot.id}`);
    return saved;
  });
}

/**
 * What the extension gets: the record, plus a verified local copy when the target host has none
 * of its own (pulled first if need be). Local extensions always restore from the local copy.
 */
async function sourceFor(
  deps: SnapshotDeps,
  snapshot: SnapshotRecord,
  extension: SandboxExtension,
  host: string | undefined,
  progress: OperationOptions['progress'],
): Promise<RestoreSource> {
  const onHost = snapshot.locations.some((l) => l.kind === 'host' && l.host === host);
  const source: RestoreSource = {
    snapshot,
    addLocation: async (location) => {
      await addLocation(deps, snapshot.id, location);
    },
  };
  if (extension.hostKind === 'ssh' && onHost) return source;
  const pulled = await pullSnapshot(deps, snapshot.id, progress ? { progress } : {});
  const local = pulled.locations.find((l) => l.kind === 'local');
  if (!local) throw new SnapshotError(`snapshot ${snapshot.id} has no local copy`, { snapshot: snapshot.id });
  await verifyLocalArtifact(local.path, snapshot.sha256, snapshot.id);
  return { ...source, snapshot: pulled, localPath: local.path };
}
