import { hostname, userInfo } from 'node:os';
import type { Catalog } from '../catalog/catalog.js';
import {
  InputError,
  InterruptedError,
  messageOf,
  ProvisionError,
  SandboxerError,
  SnapshotCorruptError,
  SnapshotError,
  SshError,
  StateConflictError,
  TeardownError,
} from '../errors.js';
import type {
  LogOptions,
  OperationOptions,
  ProvisionRequest,
  RestoreSource,
  SandboxExtension,
} from '../extensions/contract.js';
import { accountOf, CreditsLedger } from '../metering/ledger.js';
import type { CleanupReport, SandboxHandle } from '../records/handle.js';
import type { HostTarget } from '../records/host-target.js';
import type { MeterQuote } from '../records/metering.js';
import { type SandboxRecord, sandboxRecordSchema } from '../records/sandbox.js';
import { type ResolverDeps, type RoutingDecision, RoutingResolver } from '../routing/resolver.js';
import { getRecord, listRecords } from '../state/lookup.js';
import type { StateStore } from '../state/store.js';
import { formatDuration, parseDurationSeconds } from '../util/duration.js';
import { newSandboxId, parseSandboxId } from '../util/ids.js';
import { collectGarbage, type GcFinding, type GcOptions } from './gc.js';
import { resolveInputs, resolveTtl } from './request.js';
import { lockKey, minimalHandle } from './sandbox-keys.js';
import { SnapshotOperations } from './snapshots.js';

export interface CreateRequest {
  /** `saas-stub` or `profile.saas-stub`. */
  profile: string;
  inputs?: Record<string, string>;
  /** Who the sandbox is for (a CI run, a person); defaults to `user@machine`. */
  consumer?: string;
  /** A hosts-file alias, `user@address[:port]`, or `local`. */
  host?: string;
  /** `30m`, `2h`, or seconds; defaults to the profile's TTL and may not exceed its `max_ttl`. */
  ttl?: string | number;
  /** The credits account that pays; defaults to the consumer's account (see accountOf). */
  account?: string;
}

/** A hold outlives the sandbox's TTL by this much, so a sandbox destroyed a little late is still covered. */
const HOLD_GRACE_MS = 10 * 60_000;

/** Options of `create`: progress and cancellation, plus a hook that sees every saved record. */
export interface CreateOptions extends OperationOptions {
  /**
   * Called after each state change is saved (provisioning, handle known, ready, failed), so a caller
   * such as the GitHub Action can persist the record elsewhere before the next step runs.
   */
  onRecord?: (record: SandboxRecord) => void | Promise<void>;
  /** Create from this snapshot (extension.restore instead of provision); see SnapshotOperations.restore. */
  restore?: RestoreSource;
}

/** Options of `destroy`, plus what gc needs to decide under the sandbox's lock. */
export interface DestroyOptions extends OperationOptions {
  /** Destroy only if this holds for the record as read under the lock; else return it unchanged. */
  onlyIf?: (record: SandboxRecord) => boolean;
  /** Give up (StateConflictError) if another process holds the sandbox longer than this. */
  lockWaitMs?: number;
}

/** Turns the user's `--host` into what an extension needs; the SSH resolver plugs in here. */
export type HostResolver = (
  name: string | undefined,
  extension: SandboxExtension,
) => Promise<HostTarget | undefined>;

export interface ManagerOptions {
  /** The catalog, or a loader for it: reading declarations is skipped by calls that never need them (list, get). */
  catalog: Catalog | (() => Promise<Catalog>);
  store: StateStore;
  /** `$SANDBOXER_HOME`, handed to extensions for local files of their own. */
  home: string;
  resolveHost?: HostResolver;
  now?: () => Date;
  /** Credits a new account starts with (an `initial grant` in its history); 0 by default. */
  initialCredits?: number;
  /** Every host alias `gc` should scan (from the hosts file); none by default. */
  listHosts?: () => Promise<string[]>;
  /** Replaces the TCP reachability probe of routing (tests). */
  probe?: ResolverDeps['probe'];
}

/** Without a configured resolver only `local` (or nothing) is understood. */
const localOnly: HostResolver = async (name) => {
  if (name === undefined || name === 'local') return undefined;
  throw new InputError(`unknown host "${name}": no hosts are configured (use --host local or omit --host)`);
};

/**
 * Creates, lists, inspects and destroys sandboxes, and remembers them in the state store so any
 * process can pick up where another left off.
 */
export class SandboxManager {
  readonly #loadCatalog: () => Promise<Catalog>;
  #catalog: Promise<Catalog> | undefined;
  readonly #store: StateStore;
  readonly #home: string;
  readonly #resolveHost: HostResolver;
  readonly #now: () => Date;
  readonly #ledger: CreditsLedger;
  readonly #probe: ResolverDeps['probe'];
  readonly #listHosts: () => Promise<string[]>;

  constructor(options: ManagerOptions) {
    const { catalog } = options;
    this.#loadCatalog = typeof catalog === 'function' ? catalog : async () => catalog;
    this.#store = options.store;
    this.#home = options.home;
    this.#resolveHost = options.resolveHost ?? localOnly;
    this.#now = options.now ?? (() => new Date());
    this.#ledger = new CreditsLedger(this.#store, {
      now: this.#now,
      initialCredits: options.initialCredits ?? 0,
    });
    this.#probe = options.probe;
    this.#listHosts = options.listHosts ?? (async () => []);
  }

  /**
   * Reconciles the store with reality (see gc.ts): finishes stuck and expired sandboxes, releases
   * orphaned holds, and removes what hosts hold that is expired or known to be gone.
   */
  gc(options: GcOptions = {}): Promise<GcFinding[]> {
    return collectGarbage(
      {
        store: this.#store,
        catalog: () => this.catalog(),
        home: this.#home,
        ledger: this.#ledger,
        now: this.#now,
        destroy: (id, o) => this.destroy(id, o),
        resolveHost: async (name, extension) => this.#resolveHost(name, extension),
        listHosts: this.#listHosts,
      },
      options,
    );
  }

  #snapshots: SnapshotOperations | undefined;

  /** Snapshots of live sandboxes, and restoring them (as new sandboxes or in place). */
  get snapshots(): SnapshotOperations {
    this.#snapshots ??= new SnapshotOperations({
      store: this.#store,
      home: this.#home,
      catalog: () => this.catalog(),
      ledger: this.#ledger,
      now: this.#now,
      getSandbox: (id) => this.get(id),
      saveSandbox: (record) => this.#save(record),
      create: (request, options) => this.create(request, options),
    });
    return this.#snapshots;
  }

  /** The credits ledger (balances, grants, history) over the same state store. */
  get ledger(): CreditsLedger {
    return this.#ledger;
  }

  #resolver(catalog: Catalog): RoutingResolver {
    return new RoutingResolver({
      catalog,
      home: this.#home,
      ledger: this.#ledger,
      listSandboxes: () => this.#store.listSandboxes(),
      resolveHost: this.#resolveHost,
      ...(this.#probe ? { probe: this.#probe } : {}),
    });
  }

  /**
   * Decides where a sandbox of this profile would go and why, without creating anything or holding
   * credits (`sandboxer route --explain`).
   */
  async route(
    request: Omit<CreateRequest, 'inputs'> & { inputs?: Record<string, string> },
  ): Promise<RoutingDecision> {
    const catalog = await this.catalog();
    const profile = catalog.profile(request.profile);
    const consumer = request.consumer ?? defaultConsumer();
    return this.#resolver(catalog).explain({
      profile,
      inputs: { ...profile.inputs.defaults, ...request.inputs },
      host: request.host,
      ttlSeconds: resolveTtl(profile, request.ttl),
      account: request.account ?? accountOf(consumer),
    });
  }

  /**
   * Validates everything first (nothing is recorded for bad input), then records the sandbox as
   * `provisioning` before any backend call, so a crash at any later point leaves a trace to clean up.
   * A failure in provision or wait-ready rolls back at once and leaves the sandbox `failed`.
   */
  async create(request: CreateRequest, options: CreateOptions = {}): Promise<SandboxRecord> {
    const { progress, signal } = options;
    const save = async (next: SandboxRecord) => {
      const saved = await this.#save(next);
      await options.onRecord?.(saved);
      return saved;
    };
    const catalog = await this.catalog();
    const profile = catalog.profile(request.profile);
    const { restore } = options;
    // A restore's workspace comes from the snapshot, so the inputs that fed the first copy are not required.
    const merged = restore
      ? { ...profile.inputs.defaults, ...restore.snapshot.inputs, ...request.inputs }
      : resolveInputs(profile, request.inputs ?? {});
    const ttlSeconds = resolveTtl(profile, request.ttl);
    const consumer = request.consumer ?? defaultConsumer();
    const account = request.account ?? accountOf(consumer);
    const id = newSandboxId();

    return this.#store.withLock(lockKey(id), async () => {
      // Routing and the first record happen under one lock (for every profile: host capacity counts
      // them all), so burst caps and capacities see every sandbox decided before this one.
      const {
        record: first,
        extension,
        host,
        inputs,
      } = await this.#store.withLock('route', async () => {
        const createdAt = this.#now();
        const expiresAt = new Date(createdAt.getTime() + ttlSeconds * 1000);
        const chosen = await this.#resolver(catalog).choose(
          {
            profile,
            inputs: merged,
            host: request.host,
            ttlSeconds,
            account,
            ...(restore ? { restoreWith: restore.snapshot.extension } : {}),
          },
          { sandboxId: id, holdUntil: new Date(expiresAt.getTime() + HOLD_GRACE_MS) },
        );
        const rejected = chosen.decision.candidates.filter((c) => !c.feasible);
        const record: SandboxRecord = {
          id,
          state: 'provisioning',
          profile: profile.id,
          extension: chosen.extension.id,
          host: chosen.host?.name ?? 'local',
          consumer,
          account,
          created_at: createdAt.toISOString(),
          updated_at: createdAt.toISOString(),
          expires_at: expiresAt.toISOString(),
          ttl_seconds: ttlSeconds,
          ...(chosen.host ? { target: chosen.host } : {}),
          ...(restore ? { restored_from: restore.snapshot.id } : {}),
          ...(chosen.report.estimate ? { estimate: chosen.report.estimate } : {}),
          ...(chosen.hold ? { hold: chosen.hold.id } : {}),
          ...(rejected.length > 0
            ? { routing: rejected.map((c) => ({ extension: c.extension, host: c.host, reasons: c.reasons })) }
            : {}),
          owner_pid: process.pid,
        };
        try {
          return {
            record: await save(record),
            extension: chosen.extension,
            host: chosen.host,
            inputs: chosen.inputs,
          };
        } catch (error) {
          // Writing the record or the caller's onRecord failed: nothing was provisioned, so give the
          // hold back and leave no `provisioning` record that would count against capacity.
          if (chosen.hold)
            await this.#ledger.release(chosen.hold.id, 'the sandbox record could not be saved');
          await this.#store
            .putSandbox({ ...record, state: 'failed', error: errorOf('record', error), owner_pid: undefined })
            .catch(() => {});
          throw error;
        }
      });
      let record = first;
      const createdAt = new Date(record.created_at);
      const expiresAt = new Date(record.expires_at);
      for (const rejected of record.routing ?? []) {
        progress?.(
          `routing: skipped ${rejected.extension} on ${rejected.host}: ${rejected.reasons.join('; ')}`,
        );
      }
      const held =
        record.estimate && record.hold
          ? `, holding ${record.estimate.credits} credits from "${account}"`
          : '';
      progress?.(
        `sandbox ${id}: provisioning on ${record.host} with ${extension.id} (profile ${profile.id}${held})`,
      );
      let handle: SandboxHandle | undefined;
      let step = 'provision';
      try {
        throwIfAborted(signal);
        const provisionRequest: ProvisionRequest = {
          sandboxId: id,
          profile,
          inputs,
          host,
          createdAt,
          expiresAt,
          progress,
          signal,
          checkpoint: async (partial) => {
            record = await save({ ...record, handle: partial });
          },
        };
        if (restore) {
          step = 'restore';
          if (!extension.restore) throw new InputError(`${extension.id} cannot restore snapshots`);
          handle = await extension.restore(restore, { mode: 'new', request: provisionRequest });
        } else {
          handle = await extension.provision(provisionRequest);
        }
        record = await save({ ...record, handle, provisioned_at: this.#now().toISOString() });
        throwIfAborted(signal);
        step = 'wait_ready';
        progress?.(`sandbox ${id}: waiting until ready`);
        const reachability = await extension.waitReady(handle, { progress, signal });
        throwIfAborted(signal);
        record = await save({
          ...record,
          state: 'ready',
          reachability,
          ready_at: this.#now().toISOString(),
          owner_pid: undefined,
        });
        progress?.(`sandbox ${id}: ready`);
        return record;
      } catch (error) {
        const cause = signal?.aborted ? new InterruptedError(`interrupted during ${step}`) : error;
        // Not inlined into `onRecord?.(…)`: an optional call skips evaluating its arguments.
        // The final handle, else what provision checkpointed, else the minimal handle.
        const failed = await this.#rollback(
          record,
          extension,
          handle ?? record.handle,
          step,
          cause,
          progress,
        );
        await options.onRecord?.(failed);
        // A refused or failed restore keeps its own code (a corrupt artifact is not a provisioning failure).
        if (cause instanceof SnapshotError || cause instanceof SnapshotCorruptError) throw cause;
        if (cause instanceof InterruptedError) {
          throw new InterruptedError(`sandbox ${id}: interrupted during ${step}; rolled back`, {
            sandbox: id,
            step,
          });
        }
        const undone = failed.cleanup?.leftovers.length
          ? `rollback incomplete: ${failed.cleanup.leftovers.join('; ')}; \`sandboxer gc\` removes the rest once the host answers`
          : 'rolled back';
        throw new ProvisionError(
          `sandbox ${id}: ${step} failed: ${messageOf(cause)} (${undone}; see \`sandboxer status ${id}\`)`,
          { sandbox: id, step, ...(cause instanceof SandboxerError ? { cause: cause.toJSON() } : {}) },
          { cause },
        );
      }
    });
  }

  /** What a sandbox of this profile would cost for its TTL (or `ttl`), if its extension is metered. */
  async estimate(profileId: string, ttl?: string | number): Promise<MeterQuote | undefined> {
    const catalog = await this.catalog();
    const profile = catalog.profile(profileId);
    const extension = await catalog.instantiate(profile.extension, this.#home);
    return extension.estimateCost?.(profile, resolveTtl(profile, ttl));
  }

  /** The catalog, loaded on first use. */
  catalog(): Promise<Catalog> {
    this.#catalog ??= this.#loadCatalog();
    return this.#catalog;
  }

  /** The record of one sandbox, in whatever state it is. */
  get(idText: string): Promise<SandboxRecord> {
    return getRecord(this.#store, idText);
  }

  /**
   * Takes over a record made elsewhere (the action's main step, a record file), so that `destroy`
   * and `logs` can work on it here. An existing record with the same id is left as it is.
   */
  async adopt(record: SandboxRecord): Promise<SandboxRecord> {
    const valid = sandboxRecordSchema.parse(record);
    return this.#store.withLock(lockKey(valid.id), async () => {
      const existing = await this.#store.getSandbox(valid.id);
      if (existing) return existing;
      await this.#store.putSandbox({ ...valid, owner_pid: undefined });
      return valid;
    });
  }

  /**
   * Pushes a live sandbox's expiry out to `ttl` from now. Its whole life may not exceed the profile's
   * `max_ttl`; on a metered backend the hold is swapped for one covering the longer life, or the
   * extension is refused with INSUFFICIENT_CREDITS and nothing changes.
   */
  async extend(idText: string, ttl: string | number): Promise<SandboxRecord> {
    const id = parseSandboxId(idText);
    return this.#store.withLock(lockKey(id), async () => {
      const record = await this.get(id);
      if (record.state !== 'ready' && record.state !== 'provisioning') {
        throw new StateConflictError(
          `sandbox ${id} is ${record.state}: only a live sandbox can be extended`,
          {
            sandbox: id,
          },
        );
      }
      const catalog = await this.catalog();
      const profile = catalog.profile(record.profile);
      const seconds = parseDurationSeconds(ttl);
      if (seconds === undefined) {
        throw new InputError(
          `--ttl: expected a duration like "90s", "30m", "2h" or "1d", got ${JSON.stringify(ttl)}`,
        );
      }
      const expiresAt = new Date(this.#now().getTime() + seconds * 1000);
      const lifeSeconds = Math.ceil((expiresAt.getTime() - Date.parse(record.created_at)) / 1000);
      if (profile.max_ttl !== undefined && lifeSeconds > profile.max_ttl) {
        throw new InputError(
          `--ttl: the sandbox would live ${formatDuration(lifeSeconds)} in all, longer than ${profile.id}'s max_ttl of ${formatDuration(profile.max_ttl)}`,
          { sandbox: id, max_ttl: profile.max_ttl },
        );
      }
      let updated: SandboxRecord = {
        ...record,
        expires_at: expiresAt.toISOString(),
        ttl_seconds: lifeSeconds,
      };
      const extension = await catalog.instantiate(record.extension, this.#home);
      // The host-side switch first: if the host no longer has it, the sandbox is already gone there.
      if (extension.reschedule && (record.handle || record.target)) {
        const moved = await extension.reschedule(record.handle ?? minimalHandle(record), expiresAt);
        if (!moved) {
          throw new StateConflictError(
            `sandbox ${id} already expired on ${record.host} (its host-side switch tore it down); run \`sandboxer gc\` to settle its record`,
            { sandbox: id },
          );
        }
      }
      if (record.hold) {
        const quote = extension.estimateCost?.(profile, lifeSeconds);
        if (quote) {
          const hold = await this.#ledger.replaceHold(
            record.hold,
            quote.credits,
            new Date(expiresAt.getTime() + HOLD_GRACE_MS),
            (b) =>
              `account "${b.account}" cannot afford extending sandbox ${id} to ${formatDuration(lifeSeconds)}: estimate ${quote.credits} credits, available ${b.available} plus its current hold`,
          );
          updated = { ...updated, hold: hold.id, estimate: quote };
        }
      }
      return this.#save(updated);
    });
  }

  /** Streams the tail of each service's log, for extensions that can (others: nothing to show). */
  async logs(idText: string, options: LogOptions): Promise<boolean> {
    const record = await this.get(idText);
    if (!record.handle && !record.target) return false;
    const extension = await (await this.catalog()).instantiate(record.extension, this.#home);
    if (!extension.logs) return false;
    await extension.logs(record.handle ?? minimalHandle(record), options);
    return true;
  }

  /** Live sandboxes (provisioning, ready, destroying); with `all`, destroyed and failed ones too. */
  list(options: { all?: boolean } = {}): Promise<SandboxRecord[]> {
    return listRecords(this.#store, options);
  }

  /**
   * Tears the sandbox down and marks it `destroyed`. Idempotent: destroying a destroyed (or rolled
   * back) sandbox returns its record unchanged. If teardown leaves something behind the sandbox stays
   * `destroying` with a report of the leftovers, and destroy can be retried.
   */
  async destroy(idText: string, options: DestroyOptions = {}): Promise<SandboxRecord> {
    const { progress, signal } = options;
    const id = parseSandboxId(idText);
    const lockOptions = options.lockWaitMs === undefined ? {} : { waitMs: options.lockWaitMs };
    return this.#store.withLock(
      lockKey(id),
      async () => {
        let record = await this.get(id);
        // Decided on the record as it is under the lock (gc: it may have become ready meanwhile).
        if (options.onlyIf && !options.onlyIf(record)) return record;
        if (record.state === 'destroyed') return record;
        if (record.state === 'failed' && !record.cleanup?.leftovers.length) return record;
        // Holding the lock means no live process is creating or destroying it: a `provisioning` record
        // here belongs to a creator that died, and tearing down is exactly what it needs.
        const extension = await (await this.catalog()).instantiate(record.extension, this.#home);
        record = await this.#save({ ...record, state: 'destroying', owner_pid: process.pid });
        progress?.(`sandbox ${id}: tearing down on ${record.host}`);
        let cleanup: CleanupReport;
        try {
          throwIfAborted(signal);
          cleanup = await extension.teardown(record.handle ?? minimalHandle(record), { progress, signal });
        } catch (error) {
          await this.#save({ ...record, error: errorOf('teardown', error), owner_pid: undefined });
          throw new TeardownError(
            `sandbox ${id}: teardown failed: ${messageOf(error)} (it stays "destroying"; run \`sandboxer destroy ${id}\` again)`,
            { sandbox: id },
            { cause: error },
          );
        }
        if (cleanup.leftovers.length > 0) {
          await this.#save({ ...record, cleanup, owner_pid: undefined });
          throw new TeardownError(
            `sandbox ${id}: teardown left ${cleanup.leftovers.join(', ')}; remove by hand or run \`sandboxer destroy ${id}\` again`,
            { sandbox: id, leftovers: cleanup.leftovers },
          );
        }
        const destroyedAt = this.#now();
        // Only a sandbox that became ready is charged; one whose creator died half-way is not.
        const cost = !record.ready_at
          ? undefined
          : extension.meterActual?.(record.handle ?? minimalHandle(record), {
              createdAt: new Date(record.created_at),
              // Never billed past what its hold covered (expiry plus grace): a sandbox that outlived
              // that is ours to have removed (gc, the host-side switch), not the user's to pay for.
              destroyedAt: new Date(
                Math.min(destroyedAt.getTime(), Date.parse(record.expires_at) + HOLD_GRACE_MS),
              ),
            });
        if (cost && record.account) {
          // Idempotent per sandbox: a retried destroy finds the debit already there and charges nothing.
          const debit = await this.#ledger.settle(
            record.account,
            id,
            cost.credits,
            record.hold,
            cost.breakdown,
          );
          progress?.(`sandbox ${id}: debited ${debit.credits} credits from "${record.account}"`);
        } else if (record.hold) {
          await this.#ledger.release(record.hold, 'destroyed');
        }
        record = await this.#save({
          ...record,
          state: 'destroyed',
          cleanup,
          destroyed_at: destroyedAt.toISOString(),
          ...(cost ? { cost } : {}),
          owner_pid: undefined,
        });
        progress?.(`sandbox ${id}: destroyed${cleanup.already_gone ? ' (nothing was left)' : ''}`);
        return record;
      },
      lockOptions,
    );
  }

  /** Undo a half-made sandbox; a rollback problem is recorded, never allowed to hide the first error. */
  async #rollback(
    record: SandboxRecord,
    extension: SandboxExtension,
    handle: SandboxHandle | undefined,
    step: string,
    cause: unknown,
    progress: ((message: string) => void) | undefined,
  ): Promise<SandboxRecord> {
    progress?.(`sandbox ${record.id}: ${step} failed, rolling back`);
    let cleanup: CleanupReport;
    try {
      cleanup =
        cause instanceof SshError && cause.phase === 'connect' && handle === undefined
          ? { removed: [], leftovers: [], already_gone: true } // never reached the host: nothing to undo
          : await extension.teardown(handle ?? minimalHandle(record), { progress });
    } catch (error) {
      cleanup = { removed: [], leftovers: [`rollback failed: ${messageOf(error)}`], already_gone: false };
    }
    // A sandbox that never became ready is not charged: its hold goes back in full.
    if (record.hold) await this.#ledger.release(record.hold, `${step} failed`);
    return this.#save({
      ...record,
      state: 'failed',
      error: errorOf(step, cause),
      cleanup,
      destroyed_at: this.#now().toISOString(),
      owner_pid: undefined,
    });
  }

  async #save(record: SandboxRecord): Promise<SandboxRecord> {
    const updated = { ...record, updated_at: this.#now().toISOString() };
    await this.#store.putSandbox(updated);
    return updated;
  }
}

function errorOf(step: string, error: unknown) {
  const code = error instanceof SandboxerError ? error.code : 'PROVISION_FAILED';
  return { step, code, message: messageOf(error) };
}

function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new InterruptedError('interrupted');
}

function defaultConsumer(): string {
  let user = 'unknown';
  try {
    user = userInfo().username;
  } catch {
    // No passwd entry (some containers): the host name alone still says where it came from.
  }
  return `${user}@${hostname()}`;
}
