import type { Catalog } from '../catalog/catalog.js';
import { StateConflictError, UnsupportedError } from '../errors.js';
import type {
  ExecRequest,
  ExtensionRuntime,
  LoginTarget,
  LogOptions,
  SandboxChannel,
} from '../extensions/contract.js';
import { collectGarbage } from '../gc/gc.js';
import { Reaper, type ReaperOptions } from '../gc/reaper.js';
import type { GcFinding, GcOptions } from '../gc/types.js';
import { type HostDirectory, localOnly } from '../hosts/directory.js';
import { handleOf, lockKey } from '../lifecycle/keys.js';
import { SandboxLifecycle } from '../lifecycle/lifecycle.js';
import {
  type CreateRequest,
  type InputPolicy,
  type PlanContext,
  planCreate,
  resolveTtl,
} from '../lifecycle/plan.js';
import type { BillingQuery, BillingRow } from '../metering/billing-export.js';
import { CreditsLedger } from '../metering/ledger.js';
import type { MeterQuote } from '../records/metering.js';
import { type Keeper, type SandboxRecord, sandboxRecordSchema } from '../records/sandbox.js';
import { type RoutingDecision, RoutingResolver } from '../routing/resolver.js';
import { SnapshotOperations } from '../snapshots/operations.js';
import { getRecord, listRecords } from '../state/lookup.js';
import type { StateStore } from '../state/store.js';
import { parseSandboxId } from '../util/ids.js';
import { billingOf, creditsService, estimateReport, hostService, routeReport } from './reports.js';
import type { CreditsService, EstimateReport, HostService, RouteReport, SandboxService } from './service.js';
import type { CreateOptions, DestroyOptions, ManagerOptions } from './types.js';

/**
 * Creates, lists, inspects and destroys sandboxes, and remembers them in the state store so any
 * process can pick up where another left off. A facade: requests are checked and planned here
 * (lifecycle/plan.ts), and every change of a sandbox goes through the one lifecycle that gc and
 * snapshots use too.
 */
export class SandboxManager implements SandboxService {
  readonly #loadCatalog: () => Promise<Catalog>;
  #catalog: Promise<Catalog> | undefined;
  readonly #store: StateStore;
  readonly #hosts: HostDirectory;
  readonly #policy: InputPolicy;
  readonly #lifecycle: SandboxLifecycle;
  readonly #ledger: CreditsLedger;
  readonly #home: string;
  #snapshots: SnapshotOperations | undefined;

  constructor(options: ManagerOptions) {
    const { catalog, store, probe } = options;
    this.#loadCatalog = typeof catalog === 'function' ? catalog : async () => catalog;
    this.#store = store;
    this.#home = options.home;
    this.#hosts = options.hosts ?? localOnly;
    this.#policy = options.inputs;
    const now = options.now ?? (() => new Date());
    this.#ledger = new CreditsLedger(store, { now, initialCredits: options.initialCredits ?? 0 });
    const runtime: ExtensionRuntime = {
      home: options.home,
      ...(options.sshKey ? { sshKey: options.sshKey } : {}),
      ...(options.sshAgent ? { sshAgent: options.sshAgent } : {}),
      ...(options.sshOverride ? { sshOverride: options.sshOverride } : {}),
      ...(options.composeCommand ? { composeCommand: options.composeCommand } : {}),
      ...(options.warn ? { warn: options.warn } : {}),
    };
    const extension = async (id: string) => (await this.catalog()).instantiate(id, runtime);
    this.#lifecycle = new SandboxLifecycle({
      store,
      catalog: () => this.catalog(),
      extension,
      ledger: this.#ledger,
      now,
      pool: async (name) => this.#hosts.pool?.(name),
      router: (loaded) =>
        new RoutingResolver({
          catalog: loaded,
          extension,
          ledger: this.#ledger,
          listSandboxes: () => store.listSandboxes(),
          resolveHost: (name) => this.#hosts.resolve(name),
          pool: async (name) => this.#hosts.pool?.(name),
          hostStatuses: () => store.listHostStatuses(),
          now,
          ...(probe ? { probe } : {}),
        }),
    });
  }

  /** The catalog, loaded on first use. */
  catalog(): Promise<Catalog> {
    this.#catalog ??= this.#loadCatalog();
    return this.#catalog;
  }

  /** The credits ledger (balances, grants, history) over the same state store. */
  get ledger(): CreditsLedger {
    return this.#ledger;
  }

  /** Snapshots of live sandboxes, and restoring them (as new sandboxes or in place). */
  get snapshots(): SnapshotOperations {
    this.#snapshots ??= new SnapshotOperations({
      lifecycle: this.#lifecycle,
      artifactDir: `${this.#home}/snapshots/artifacts`,
      planning: () => this.#planning(),
    });
    return this.#snapshots;
  }

  /**
   * Validates everything first (nothing is recorded for bad input), then creates: see
   * lifecycle/create.ts for the record, rollback and readiness.
   */
  async create(request: CreateRequest, options: CreateOptions = {}): Promise<SandboxRecord> {
    const plan = await planCreate(await this.#planning(), request);
    return this.#lifecycle.create(plan, options);
  }

  /**
   * Decides where a sandbox of this profile would go and why, without creating anything or holding
   * credits; the request is checked exactly as a create's is.
   */
  async route(request: CreateRequest): Promise<RoutingDecision> {
    const planning = await this.#planning();
    const plan = await planCreate(planning, request);
    return this.#lifecycle.deps.router(planning.catalog).explain(plan);
  }

  /** `route` as a report: the candidates and the chosen one, nothing internal (what `--json` prints). */
  async routeReport(request: CreateRequest): Promise<RouteReport> {
    return routeReport(await this.route(request));
  }

  /** `estimate` with what it is for: the profile, its extension and pricing, the TTL priced. */
  async estimateReport(profileId: string, ttl?: string): Promise<EstimateReport> {
    return estimateReport(await this.catalog(), profileId, ttl, await this.estimate(profileId, ttl));
  }

  /** The hosts file's hosts and pools: load, health, drain (hosts/overview.ts). */
  get hosts(): HostService {
    return hostService({
      hosts: this.#hosts,
      store: this.#store,
      now: this.#lifecycle.deps.now,
      catalog: () => this.catalog(),
      extension: (id) => this.#lifecycle.extension(id),
    });
  }

  /** The ledger, as the service interface offers it to every surface. */
  get credits(): CreditsService {
    return creditsService(this.#ledger, (query) => this.billing(query));
  }

  /** What a sandbox of this profile would cost for its TTL (or `ttl`), if its extension is metered. */
  async estimate(profileId: string, ttl?: string | number): Promise<MeterQuote | undefined> {
    const profile = (await this.catalog()).profile(profileId);
    const extension = await this.#lifecycle.extension(profile.extension);
    return extension.estimateCost?.(profile, resolveTtl(profile, ttl));
  }

  /** The record of one sandbox, in whatever state it is. */
  get(idText: string): Promise<SandboxRecord> {
    return getRecord(this.#store, idText);
  }

  /** Live sandboxes (provisioning, ready, destroying); with `all`, destroyed and failed ones too. */
  list(options: { all?: boolean } = {}): Promise<SandboxRecord[]> {
    return listRecords(this.#store, options);
  }

  /** The ledger as billing rows (see metering/billing-export.ts). */
  billing(query: BillingQuery = {}): Promise<BillingRow[]> {
    return billingOf(this.#store, query);
  }

  /** Lets go of the state store's connections (a database); the manager is not used after. */
  async close(): Promise<void> {
    await this.#store.close?.();
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

  /** Pushes a live sandbox's expiry out (see lifecycle/extend.ts). */
  extend(idText: string, ttl: string | number): Promise<SandboxRecord> {
    return this.#lifecycle.extend(idText, ttl);
  }

  /** Streams the tail of each service's log, for extensions that can (others: nothing to show). */
  async logs(idText: string, options: LogOptions): Promise<boolean> {
    const record = await this.get(idText);
    if (!record.handle && !record.target) return false;
    const extension = await this.#lifecycle.extension(record.extension);
    if (!extension.logs) return false;
    await extension.logs(handleOf(record), options);
    return true;
  }

  /** A connection to a ready sandbox's host, for port forwards and checks (see reach/). */
  async openChannel(idText: string): Promise<SandboxChannel> {
    const { record, extension } = await this.#ready(idText);
    return need(extension.openChannel?.bind(extension), record, "reach a sandbox's ports")(handleOf(record));
  }

  /**
   * Renews a sandbox's lease (over `channel`, a keeper's connection to its host, when given); false
   * once it is gone where the lease is kept (lifecycle/lease.ts).
   */
  renewLease(idText: string, channel?: SandboxChannel): Promise<boolean> {
    return this.#lifecycle.renewLease(idText, channel);
  }

  /** Runs a command in a ready sandbox (its workspace, or a service), streaming; resolves the exit code. */
  async exec(idText: string, request: ExecRequest): Promise<number> {
    const { record, extension } = await this.#ready(idText);
    if (this.#policy.confined && record.host === 'local') {
      // A local sandbox's workspace is on the server's own machine: a remote client gets no shell there.
      throw new UnsupportedError(
        `sandbox ${record.id} runs on the server's own machine: exec is not offered to remote clients`,
        { sandbox: record.id },
      );
    }
    return need(
      extension.exec?.bind(extension),
      record,
      'run commands in a sandbox',
    )(handleOf(record), request);
  }

  /** How ssh(1) logs in to a ready sandbox's host (`sandboxer ssh`, the action's ssh-config). */
  async loginTarget(idText: string): Promise<LoginTarget> {
    const { record, extension } = await this.#ready(idText);
    return need(extension.loginTarget?.bind(extension), record, 'log in to a host')(handleOf(record));
  }

  /** Records (or clears) the detached keeper of a sandbox, so destroy and gc stop it. */
  setKeeper(idText: string, keeper: Keeper | undefined): Promise<SandboxRecord> {
    return this.#lifecycle.update(parseSandboxId(idText), (record) => ({ ...record, keeper }));
  }

  /**
   * Tears the sandbox down and marks it `destroyed`; idempotent, and retried safely after a
   * teardown that left something (see lifecycle/destroy.ts).
   */
  destroy(idText: string, options: DestroyOptions = {}): Promise<SandboxRecord> {
    return this.#lifecycle.destroy(idText, options);
  }

  /**
   * Reconciles the store with reality (see gc/gc.ts): finishes stuck and expired sandboxes, releases
   * orphaned holds, and removes what hosts hold that is expired or known to be gone.
   */
  /** The background finisher of sandboxes a dead process left in flight (serve runs one). */
  reaper(options: ReaperOptions = {}): Reaper {
    return new Reaper(this.#lifecycle, options);
  }

  gc(options: GcOptions = {}): Promise<GcFinding[]> {
    return collectGarbage({ lifecycle: this.#lifecycle, hosts: this.#hosts }, options);
  }

  async #ready(idText: string) {
    const record = await this.get(idText);
    if (record.state !== 'ready') {
      const message = `sandbox ${record.id} is ${record.state}: only a ready sandbox can be reached`;
      throw new StateConflictError(message, { sandbox: record.id, state: record.state });
    }
    return { record, extension: await this.#lifecycle.extension(record.extension) };
  }

  async #planning(): Promise<PlanContext> {
    const hosts = this.#hosts;
    // A pool's name is as good as an alias wherever a host is named.
    const aliases = async () => [...(await hosts.aliases()), ...((await hosts.pools?.()) ?? [])];
    return { catalog: await this.catalog(), policy: this.#policy, aliases };
  }
}

/** An optional extension method, or UnsupportedError saying what the extension cannot do. */
function need<F>(method: F | undefined, record: SandboxRecord, what: string): F {
  if (!method)
    throw new UnsupportedError(`${record.extension} cannot ${what}`, { extension: record.extension });
  return method;
}
