import { rm } from 'node:fs/promises';
import { messageOf, SandboxerError, SnapshotError, StateConflictError } from '../errors.js';
import type { SandboxExtension } from '../extensions/contract.js';
import { handleOf, lockKey } from '../lifecycle/keys.js';
import type { SandboxRecord } from '../records/sandbox.js';
import type { SnapshotRecord } from '../records/snapshot.js';
import { newSnapshotId, parseSnapshotName } from '../util/snapshot-ids.js';
import { localArtifactPath } from './artifact.js';
import { pullSnapshot } from './copies.js';
import { snapshotCapable, snapshotNamed } from './lookup.js';
import {
  NAMES_LOCK,
  type SnapshotCreateOptions,
  type SnapshotDeps,
  saveSnapshot,
  snapshotErrorOf,
} from './types.js';

const DEFAULT_OPTIONS = {
  capture: ['workspace', 'volumes'] as Array<'workspace' | 'volumes'>,
  consistency: 'pause' as const,
};

/**
 * Captures a ready sandbox. Held under the sandbox's lock, so a destroy waits for it. The record is
 * saved as `creating` first, so a crash leaves a trace; a failure leaves it `failed` with no artifact.
 */
export async function captureSnapshot(
  deps: SnapshotDeps,
  sandboxText: string,
  options: SnapshotCreateOptions = {},
): Promise<SnapshotRecord> {
  const { lifecycle } = deps;
  const name = options.name === undefined ? undefined : parseSnapshotName(options.name);
  const sandbox = await lifecycle.get(sandboxText);
  return lifecycle.deps.store.withLock(lockKey(sandbox.id), async () => {
    const record = await lifecycle.get(sandbox.id);
    if (record.state !== 'ready') {
      throw new StateConflictError(
        `sandbox ${record.id} is ${record.state}: only a ready sandbox can be snapshotted`,
        { sandbox: record.id, state: record.state },
      );
    }
    const extension = await snapshotCapable(deps, record.extension);
    const settings = (await lifecycle.deps.catalog()).profile(record.profile).snapshot ?? DEFAULT_OPTIONS;
    let snapshot = await recordCreating(deps, record, name);
    const localPath = localArtifactPath(deps.artifactDir, snapshot.id);
    try {
      const artifact = await (extension.snapshot as NonNullable<SandboxExtension['snapshot']>)(
        handleOf(record),
        {
          snapshotId: snapshot.id,
          capture: settings.capture,
          consistency: settings.consistency,
          localPath,
          ...(options.progress ? { progress: options.progress } : {}),
          ...(options.signal ? { signal: options.signal } : {}),
        },
      );
      snapshot = await saveSnapshot(deps, {
        ...snapshot,
        status: 'ready',
        size_bytes: artifact.size_bytes,
        sha256: artifact.sha256,
        locations: [artifact.location],
        contents: artifact.contents,
        consistency: artifact.consistency,
        paused_ms: artifact.paused_ms,
        inputs: artifact.inputs,
      });
    } catch (error) {
      await saveSnapshot(deps, { ...snapshot, status: 'failed', error: snapshotErrorOf(error) });
      await rm(localPath, { force: true });
      if (error instanceof SandboxerError && error.code.startsWith('SNAPSHOT_')) throw error;
      throw new SnapshotError(
        `snapshot of sandbox ${record.id} failed: ${messageOf(error)} (services were resumed; nothing was kept)`,
        { sandbox: record.id, snapshot: snapshot.id },
        { cause: error },
      );
    }
    snapshot = await chargeStorage(deps, extension, record, snapshot, options);
    if (options.pull) snapshot = await pullSnapshot(deps, snapshot.id, options);
    return snapshot;
  });
}

/** The `creating` record, saved under the names lock so two snapshots can never share a name. */
async function recordCreating(
  deps: SnapshotDeps,
  record: SandboxRecord,
  name: string | undefined,
): Promise<SnapshotRecord> {
  const { store, now } = deps.lifecycle.deps;
  const at = now().toISOString();
  const snapshot: SnapshotRecord = {
    id: newSnapshotId(),
    ...(name ? { name } : {}),
    status: 'creating',
    sandbox_id: record.id,
    profile: record.profile,
    extension: record.extension,
    host: record.host,
    ...(record.account ? { account: record.account } : {}),
    created_at: at,
    updated_at: at,
    locations: [],
    inputs: {},
  };
  return store.withLock(NAMES_LOCK, async () => {
    if (name && (await snapshotNamed(store, name, true))) {
      throw new StateConflictError(
        `name: a snapshot named "${name}" already exists; pick another or delete it`,
        {
          field: 'name',
          name,
        },
      );
    }
    return saveSnapshot(deps, snapshot);
  });
}

/** What keeping the artifact costs, debited at once; never more than the account has available. */
async function chargeStorage(
  deps: SnapshotDeps,
  extension: SandboxExtension,
  record: SandboxRecord,
  snapshot: SnapshotRecord,
  options: SnapshotCreateOptions,
): Promise<SnapshotRecord> {
  const quoted = extension.snapshotCost?.(snapshot.size_bytes ?? 0);
  if (!quoted || quoted.credits <= 0 || !record.account) return snapshot;
  const { ledger } = deps.lifecycle.deps;
  const { available } = await ledger.balance(record.account);
  const credits = Math.max(0, Math.min(quoted.credits, available));
  const cost = {
    credits,
    breakdown: {
      ...quoted.breakdown,
      ...(credits < quoted.credits ? { waived: quoted.credits - credits } : {}),
    },
  };
  await ledger.settle(record.account, snapshot.id, cost.credits, undefined, cost.breakdown);
  options.progress?.(
    `snapshot ${snapshot.id}: debited ${cost.credits} credits for storage from "${record.account}"`,
  );
  return saveSnapshot(deps, { ...snapshot, cost });
}
