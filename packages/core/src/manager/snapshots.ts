import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Catalog } from '../catalog/catalog.js';
import {
  InputError,
  messageOf,
  NotFoundError,
  SandboxerError,
  SnapshotError,
  StateConflictError,
  UnsupportedError,
} from '../errors.js';
import type { OperationOptions, RestoreSource, SandboxExtension } from '../extensions/contract.js';
import type { CreditsLedger } from '../metering/ledger.js';
import type { SandboxRecord } from '../records/sandbox.js';
import type { SnapshotLocation, SnapshotRecord } from '../records/snapshot.js';
import { localArtifactPath, verifyLocalArtifact } from '../snapshots/artifact.js';
import type { StateStore } from '../state/store.js';
import { isSnapshotId, newSnapshotId, parseSnapshotName } from '../util/snapshot-ids.js';
import type { CreateOptions, CreateRequest } from './manager.js';
import { lockKey, minimalHandle } from './sandbox-keys.js';

export interface SnapshotCreateOptions extends OperationOptions {
  name?: string;
  /** Also copy the artifact into the local store, so it can be restored on another host. */
  pull?: boolean;
}

export interface RestoreOptions extends OperationOptions {
  /** `new` (default): a new sandbox through routing, metering and wait-ready; `in-place`: over a live one. */
  mode?: 'new' | 'in-place';
  /** For `new`: the host to restore on (default: the host the snapshot was taken on). */
  host?: string;
  /** For `in-place`: the sandbox to restore over (default: the one the snapshot was taken from). */
  sandbox?: string;
  inputs?: Record<string, string>;
  ttl?: string | number;
  consumer?: string;
  account?: string;
  onRecord?: CreateOptions['onRecord'];
}

/** What the snapshot operations need from the manager that owns them. */
export interface SnapshotDeps {
  store: StateStore;
  home: string;
  catalog: () => Promise<Catalog>;
  ledger: CreditsLedger;
  now: () => Date;
  getSandbox: (id: string) => Promise<SandboxRecord>;
  saveSandbox: (record: SandboxRecord) => Promise<SandboxRecord>;
  create: (request: CreateRequest, options: CreateOptions) => Promise<SandboxRecord>;
}

const DEFAULT_OPTIONS = {
  capture: ['workspace', 'volumes'] as Array<'workspace' | 'volumes'>,
  consistency: 'pause' as const,
};

/**
 * Snapshots of live sandboxes and their restore: the orchestration around the extension's
 * `snapshot`/`restore` hooks, the snapshot records in the state store, and the local copies of
 * artifacts (`<home>/snapshots/artifacts/`) that let a snapshot outlive the host it was taken on.
 */
export class SnapshotOperations {
  readonly #deps: SnapshotDeps;

  constructor(deps: SnapshotDeps) {
    this.#deps = deps;
  }

  get #artifactDir(): string {
    return join(this.#deps.home, 'snapshots', 'artifacts');
  }

  /**
   * Captures a ready sandbox. Held under the sandbox's lock, so a destroy waits for it. The record is
   * saved as `creating` first, so a crash leaves a trace; a failure leaves it `failed` with no artifact.
   */
  async create(sandboxText: string, options: SnapshotCreateOptions = {}): Promise<SnapshotRecord> {
    const name = options.name === undefined ? undefined : parseSnapshotName(options.name);
    const sandbox = await this.#deps.getSandbox(sandboxText);
    return this.#deps.store.withLock(lockKey(sandbox.id), async () => {
      const record = await this.#deps.getSandbox(sandbox.id);
      if (record.state !== 'ready') {
        throw new StateConflictError(
          `sandbox ${record.id} is ${record.state}: only a ready sandbox can be snapshotted`,
          { sandbox: record.id, state: record.state },
        );
      }
      const catalog = await this.#deps.catalog();
      const extension = await this.#snapshotCapable(catalog, record.extension);
      const settings = catalog.profile(record.profile).snapshot ?? DEFAULT_OPTIONS;
      const id = newSnapshotId();
      const now = this.#deps.now().toISOString();
      let snapshot: SnapshotRecord = {
        id,
        ...(name ? { name } : {}),
        status: 'creating',
        sandbox_id: record.id,
        profile: record.profile,
        extension: record.extension,
        host: record.host,
        ...(record.account ? { account: record.account } : {}),
        created_at: now,
        updated_at: now,
        locations: [],
        inputs: {},
      };
      // The name is checked and taken under one lock, so two snapshots can never share it.
      await this.#deps.store.withLock(NAMES_LOCK, async () => {
        if (name && (await this.#byName(name, true))) {
          throw new StateConflictError(
            `a snapshot named "${name}" already exists; pick another --name or delete it`,
            { name },
          );
        }
        await this.#save(snapshot);
      });
      const localPath = localArtifactPath(this.#artifactDir, id);
      try {
        const artifact = await (extension.snapshot as NonNullable<SandboxExtension['snapshot']>)(
          record.handle ?? minimalHandle(record),
          {
            snapshotId: id,
            capture: settings.capture,
            consistency: settings.consistency,
            localPath,
            ...(options.progress ? { progress: options.progress } : {}),
            ...(options.signal ? { signal: options.signal } : {}),
          },
        );
        snapshot = await this.#save({
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
        await this.#save({ ...snapshot, status: 'failed', error: errorOf(error) });
        await rm(localPath, { force: true });
        if (error instanceof SandboxerError && error.code.startsWith('SNAPSHOT_')) throw error;
        throw new SnapshotError(
          `snapshot of sandbox ${record.id} failed: ${messageOf(error)} (services were resumed; nothing was kept)`,
          { sandbox: record.id, snapshot: id },
          { cause: error },
        );
      }
      const quoted = extension.snapshotCost?.(snapshot.size_bytes ?? 0);
      if (quoted && quoted.credits > 0 && record.account) {
        // Credits are never overspent: storage takes what it costs, at most what is available.
        const { available } = await this.#deps.ledger.balance(record.account);
        const credits = Math.max(0, Math.min(quoted.credits, available));
        const cost = {
          credits,
          breakdown: {
            ...quoted.breakdown,
            ...(credits < quoted.credits ? { waived: quoted.credits - credits } : {}),
          },
        };
        await this.#deps.ledger.settle(record.account, id, cost.credits, undefined, cost.breakdown);
        snapshot = await this.#save({ ...snapshot, cost });
        options.progress?.(
          `snapshot ${id}: debited ${cost.credits} credits for storage from "${record.account}"`,
        );
      }
      if (options.pull) snapshot = await this.pull(id, options);
      return snapshot;
    });
  }

  /** Ready snapshots (with `all`, failed and deleted ones too), oldest first. */
  async list(options: { all?: boolean } = {}): Promise<SnapshotRecord[]> {
    const records = await this.#deps.store.listSnapshots();
    return options.all ? records : records.filter((r) => r.status === 'ready' || r.status === 'creating');
  }

  /** One snapshot by id (`snap-…`) or by its name. */
  async get(ref: string): Promise<SnapshotRecord> {
    const found = isSnapshotId(ref) ? await this.#deps.store.getSnapshot(ref) : await this.#byName(ref);
    if (!found) {
      throw new NotFoundError(
        `no snapshot "${ref}" in ${this.#deps.store.location} (see \`sandboxer snapshot list --all\`)`,
        { snapshot: ref },
      );
    }
    return found;
  }

  /** Copies a host-kept artifact into the local store (verified), so it can be restored anywhere. */
  async pull(ref: string, options: OperationOptions = {}): Promise<SnapshotRecord> {
    const snapshot = this.#usable(await this.get(ref));
    if (snapshot.locations.some((l) => l.kind === 'local')) return snapshot;
    const from = snapshot.locations.find((l) => l.kind === 'host');
    const extension = await (await this.#deps.catalog()).instantiate(snapshot.extension, this.#deps.home);
    if (!from || !extension.pullArtifact) {
      throw new SnapshotError(`snapshot ${snapshot.id} has no copy that can be pulled`, {
        snapshot: snapshot.id,
      });
    }
    const path = localArtifactPath(this.#artifactDir, snapshot.id);
    await mkdir(this.#artifactDir, { recursive: true, mode: 0o700 });
    options.progress?.(`pulling snapshot ${snapshot.id} (${snapshot.size_bytes} bytes) from ${from.host}`);
    await extension.pullArtifact(from, path, options);
    try {
      await verifyLocalArtifact(path, snapshot.sha256, snapshot.id);
    } catch (error) {
      await rm(path, { force: true });
      throw error;
    }
    return this.#addLocation(snapshot.id, { kind: 'local', path });
  }

  /** Deletes every copy of the artifact, then marks the snapshot `deleted`; copies that resist stay listed. */
  async delete(ref: string, options: OperationOptions = {}): Promise<SnapshotRecord> {
    const snapshot = await this.get(ref);
    return this.#deps.store.withLock(snapshotLock(snapshot.id), async () => {
      const current = (await this.#deps.store.getSnapshot(snapshot.id)) ?? snapshot;
      if (current.status === 'deleted') return current;
      if (current.status === 'creating') {
        throw new StateConflictError(
          `snapshot ${current.id} is still being taken; delete it when it is ready (or failed)`,
          { snapshot: current.id },
        );
      }
      const extension = await (await this.#deps.catalog()).instantiate(current.extension, this.#deps.home);
      const remaining: SnapshotLocation[] = [];
      const problems: string[] = [];
      for (const location of current.locations) {
        try {
          if (location.kind === 'local') await rm(location.path, { force: true });
          else if (extension.deleteArtifact) await extension.deleteArtifact(location, options);
          else throw new Error(`${extension.id} cannot delete artifacts it keeps on hosts`);
          options.progress?.(`deleted ${describeLocation(location)}`);
        } catch (error) {
          remaining.push(location);
          problems.push(`${describeLocation(location)}: ${messageOf(error)}`);
        }
      }
      if (problems.length > 0) {
        await this.#save({ ...current, locations: remaining });
        throw new SnapshotError(
          `snapshot ${current.id}: could not delete ${problems.join('; ')} (run \`sandboxer snapshot delete ${current.id}\` again)`,
          { snapshot: current.id },
        );
      }
      return this.#save({ ...current, status: 'deleted', locations: [] });
    });
  }

  /**
   * Brings a snapshot back. `new`: a create like any other (routing, credits, wait-ready) whose
   * workspace and volumes come from the artifact. `in-place`: over a ready sandbox of the same
   * extension, which keeps its id. Checksums are verified before anything is changed.
   */
  async restore(ref: string, options: RestoreOptions = {}): Promise<SandboxRecord> {
    const snapshot = this.#usable(await this.get(ref));
    const catalog = await this.#deps.catalog();
    const extension = await this.#snapshotCapable(catalog, snapshot.extension);
    if ((options.mode ?? 'new') === 'new') {
      if (options.sandbox) throw new InputError('--sandbox is for --in-place restores only');
      const host = extension.hostKind === 'ssh' ? (options.host ?? snapshot.host) : options.host;
      const source = await this.#source(snapshot, extension, host, options.progress);
      return this.#deps.create(
        {
          profile: snapshot.profile,
          ...(host ? { host } : {}),
          ...(options.inputs ? { inputs: options.inputs } : {}),
          ...(options.ttl !== undefined ? { ttl: options.ttl } : {}),
          ...(options.consumer ? { consumer: options.consumer } : {}),
          ...(options.account ? { account: options.account } : {}),
        },
        {
          restore: source,
          ...(options.progress ? { progress: options.progress } : {}),
          ...(options.signal ? { signal: options.signal } : {}),
          ...(options.onRecord ? { onRecord: options.onRecord } : {}),
        },
      );
    }
    if (options.host)
      throw new InputError('--host is for new restores: an in-place restore stays on its sandbox');
    const sandboxId = (await this.#deps.getSandbox(options.sandbox ?? snapshot.sandbox_id)).id;
    return this.#deps.store.withLock(lockKey(sandboxId), async () => {
      const record = await this.#deps.getSandbox(sandboxId);
      if (record.state !== 'ready') {
        throw new StateConflictError(
          `sandbox ${record.id} is ${record.state}: restore in place needs a ready sandbox (or restore as a new one without --in-place)`,
          { sandbox: record.id, state: record.state },
        );
      }
      if (record.extension !== snapshot.extension) {
        throw new InputError(
          `snapshot ${snapshot.id} was taken with ${snapshot.extension}; sandbox ${record.id} runs on ${record.extension}`,
        );
      }
      const source = await this.#source(snapshot, extension, record.host, options.progress);
      const { progress, signal } = options;
      progress?.(`sandbox ${record.id}: restoring snapshot ${snapshot.id} in place`);
      const restore = (extension.restore as NonNullable<SandboxExtension['restore']>).bind(extension);
      let handle: SandboxRecord['handle'];
      let reachability: SandboxRecord['reachability'];
      try {
        handle = await restore(source, {
          mode: 'in-place',
          handle: record.handle ?? minimalHandle(record),
          createdAt: new Date(record.created_at),
          expiresAt: new Date(record.expires_at),
          inputs: options.inputs ?? {},
          ...(progress ? { progress } : {}),
          ...(signal ? { signal } : {}),
        });
        progress?.(`sandbox ${record.id}: waiting until ready`);
        reachability = await extension.waitReady(handle, {
          ...(progress ? { progress } : {}),
          ...(signal ? { signal } : {}),
        });
      } catch (error) {
        await this.#deps.saveSandbox({ ...record, error: { step: 'restore', ...errorOf(error) } });
        if (error instanceof SandboxerError && error.code.startsWith('SNAPSHOT_')) throw error;
        throw new SnapshotError(
          `sandbox ${record.id}: restoring ${snapshot.id} in place failed: ${messageOf(error)} (the sandbox is still registered: retry, or \`sandboxer destroy ${record.id}\`)`,
          { sandbox: record.id, snapshot: snapshot.id },
          { cause: error },
        );
      }
      const { error: _previous, ...rest } = record;
      const saved = await this.#deps.saveSandbox({
        ...rest,
        handle,
        reachability,
        restored_from: snapshot.id,
      });
      progress?.(`sandbox ${record.id}: restored from ${snapshot.id}`);
      return saved;
    });
  }

  /**
   * What the extension gets: the record, plus a verified local copy when the target host has none
   * of its own (pulled first if need be). Local extensions always restore from the local copy.
   */
  async #source(
    snapshot: SnapshotRecord,
    extension: SandboxExtension,
    host: string | undefined,
    progress: OperationOptions['progress'],
  ): Promise<RestoreSource> {
    const onHost = snapshot.locations.some((l) => l.kind === 'host' && l.host === host);
    const source: RestoreSource = {
      snapshot,
      addLocation: async (location) => {
        await this.#addLocation(snapshot.id, location);
      },
    };
    if (extension.hostKind === 'ssh' && onHost) return source;
    const pulled = await this.pull(snapshot.id, progress ? { progress } : {});
    const local = pulled.locations.find((l) => l.kind === 'local');
    if (!local)
      throw new SnapshotError(`snapshot ${snapshot.id} has no local copy`, { snapshot: snapshot.id });
    await verifyLocalArtifact(local.path, snapshot.sha256, snapshot.id);
    return { ...source, snapshot: pulled, localPath: local.path };
  }

  async #snapshotCapable(catalog: Catalog, extensionId: string): Promise<SandboxExtension> {
    const declaration = catalog.extension(extensionId);
    const extension = await catalog.instantiate(extensionId, this.#deps.home);
    if (!declaration.capabilities.snapshot || !extension.snapshot || !extension.restore) {
      throw new UnsupportedError(
        `${extensionId} does not support snapshots (capabilities.snapshot is ${declaration.capabilities.snapshot} in its declaration${declaration.capabilities.snapshot ? ', but its handler has no snapshot/restore' : ''})`,
        { extension: extensionId },
      );
    }
    return extension;
  }

  #usable(snapshot: SnapshotRecord): SnapshotRecord {
    if (snapshot.status === 'ready') return snapshot;
    throw new StateConflictError(
      `snapshot ${snapshot.id} is ${snapshot.status}${snapshot.status === 'deleted' ? ` (deleted at ${snapshot.updated_at})` : ''}: only a ready snapshot can be used`,
      { snapshot: snapshot.id, status: snapshot.status },
    );
  }

  /** The live snapshot of that name, else the latest deleted or failed one (so errors can say what happened). */
  async #byName(name: string, liveOnly = false): Promise<SnapshotRecord | undefined> {
    const named = (await this.#deps.store.listSnapshots()).filter((s) => s.name === name);
    const live = named.find((s) => s.status === 'ready' || s.status === 'creating');
    return live ?? (liveOnly ? undefined : named.at(-1));
  }

  async #addLocation(id: string, location: SnapshotLocation): Promise<SnapshotRecord> {
    return this.#deps.store.withLock(snapshotLock(id), async () => {
      const current = await this.#deps.store.getSnapshot(id);
      if (!current) throw new NotFoundError(`snapshot ${id} disappeared`, { snapshot: id });
      const same = (l: SnapshotLocation) =>
        l.kind === location.kind &&
        l.path === location.path &&
        (l.kind === 'local' || (location.kind === 'host' && l.host === location.host));
      if (current.locations.some(same)) return current;
      return this.#save({ ...current, locations: [...current.locations, location] });
    });
  }

  async #save(record: SnapshotRecord): Promise<SnapshotRecord> {
    const updated = { ...record, updated_at: this.#deps.now().toISOString() };
    await this.#deps.store.putSnapshot(updated);
    return updated;
  }
}

/** Held while a snapshot name is checked and taken. */
const NAMES_LOCK = 'snapshot-names';

function snapshotLock(id: string): string {
  return `snapshot-${id}`;
}

function describeLocation(location: SnapshotLocation): string {
  return location.kind === 'local' ? `local copy ${location.path}` : `${location.path} on ${location.host}`;
}

function errorOf(error: unknown): { code: string; message: string } {
  return {
    code: error instanceof SandboxerError ? error.code : 'SNAPSHOT_FAILED',
    message: messageOf(error),
  };
}
