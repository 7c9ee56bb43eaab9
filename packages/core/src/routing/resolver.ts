import type { Catalog } from '../catalog/catalog.js';
import { InputError, InsufficientCreditsError, messageOf } from '../errors.js';
import type { SandboxExtension } from '../extensions/contract.js';
import type { HostPool } from '../hosts/resolve.js';
import type { AccountBalance } from '../metering/balance.js';
import type { CreditsLedger } from '../metering/ledger.js';
import type { HostStatus } from '../records/host-status.js';
import type { HostTarget, RemoteHost } from '../records/host-target.js';
import type { LedgerEntry } from '../records/ledger-entry.js';
import type { MeterQuote } from '../records/metering.js';
import { LIVE_STATES, type SandboxRecord } from '../records/sandbox.js';
import { hostRefusal, placementOrder } from './pools.js';
import { probeSsh } from './probe.js';
import { insufficientCredits, noneFeasible } from './refusals.js';
import type {
  Candidate,
  CandidateReport,
  HoldFor,
  RouteRequest,
  RoutingChoice,
  RoutingDecision,
} from './types.js';

export type { CandidateReport, HoldFor, RouteRequest, RoutingChoice, RoutingDecision } from './types.js';

export interface ResolverDeps {
  catalog: Catalog;
  /** The extension's handler, instantiated for this process. */
  extension: (id: string) => Promise<SandboxExtension>;
  ledger: CreditsLedger;
  listSandboxes: () => Promise<SandboxRecord[]>;
  /** A candidate's or the request's host (undefined: the default) as the extension needs it. */
  resolveHost: (name: string | undefined) => Promise<HostTarget | undefined>;
  /** Is the host's SSH port accepting connections? (Replaceable in tests.) */
  probe?: (host: RemoteHost) => Promise<string | undefined>;
  /** The pool a name names, if it is one (its hosts resolved). */
  pool?: (name: string | undefined) => Promise<HostPool | undefined>;
  /** What the state store remembers about hosts: drained, resting after a failure. */
  hostStatuses?: () => Promise<HostStatus[]>;
  now?: () => Date;
}

/**
 * Picks the backend for a profile: tries its routing candidates in order (a profile without
 * `routing` has one implicit candidate, its `extension`), records every rejection with its reason,
 * and takes the first feasible one. On create, "feasible" for a metered candidate includes getting
 * the credit hold, taken atomically, so concurrent creates can never overspend.
 */
export class RoutingResolver {
  readonly #deps: ResolverDeps;

  constructor(deps: ResolverDeps) {
    this.#deps = deps;
  }

  /** Decides without creating or holding anything (`sandboxer route --explain`); looks at every candidate. */
  explain(request: RouteRequest): Promise<RoutingDecision> {
    return this.#route(request, undefined);
  }

  /**
   * Decides for a create and holds the credits. Throws the candidate's own error when the profile
   * has a single candidate (e.g. InsufficientCreditsError, an InputError), else NoBackendAvailableError.
   */
  async choose(request: RouteRequest, holdFor: HoldFor): Promise<RoutingChoice> {
    const errors = new Map<number, unknown>();
    const decision = await this.#route(request, holdFor, errors);
    if (decision.chosen) return { ...decision.chosen, decision };
    throw noneFeasible(request, decision, errors);
  }

  async #route(
    request: RouteRequest,
    holdFor: HoldFor | undefined,
    errors = new Map<number, unknown>(),
  ): Promise<RoutingDecision> {
    const { profile } = request;
    const candidates: Candidate[] = profile.routing?.candidates ?? [{ extension: profile.extension }];
    const routed = profile.routing !== undefined;
    const decision: RoutingDecision = { profile: profile.id, account: request.account, candidates: [] };
    // The sandbox being placed does not count against a host (a failover moves its record).
    const live = (await this.#deps.listSandboxes()).filter(
      (r) => LIVE_STATES.has(r.state) && r.id !== holdFor?.sandboxId,
    );
    const statuses = new Map((await (this.#deps.hostStatuses?.() ?? [])).map((s) => [s.host, s]));
    const now = this.#deps.now?.() ?? new Date();

    for (const [index, candidate] of candidates.entries()) {
      const declaration = this.#deps.catalog.extension(candidate.extension);
      const newReport = (host: string, pool?: string): CandidateReport => {
        const report: CandidateReport = {
          index,
          extension: candidate.extension,
          host,
          ...(pool ? { pool } : {}),
          pricing: declaration.capabilities.pricing_model,
          feasible: false,
          reasons: [],
        };
        decision.candidates.push(report);
        return report;
      };
      const reject = (report: CandidateReport, reason: string, error?: unknown) => {
        report.reasons.push(reason);
        if (error !== undefined && !errors.has(index)) errors.set(index, error);
      };
      const first = newReport(candidate.host ?? request.host ?? '(default)');

      if (request.restore && candidate.extension !== request.restore.extension) {
        reject(first, `the snapshot was taken with ${request.restore.extension}`);
        continue;
      }
      if (candidate.isolation && !declaration.capabilities.isolation_levels.includes(candidate.isolation)) {
        reject(
          first,
          `isolation "${candidate.isolation}" not offered (offers: ${declaration.capabilities.isolation_levels.join(', ')})`,
        );
        continue;
      }
      let extension: SandboxExtension;
      let inputs: unknown;
      let hosts: Array<HostTarget | undefined>;
      try {
        extension = await this.#deps.extension(candidate.extension);
        inputs = extension.validateInputs(request.inputs, { restore: request.restore !== undefined });
        hosts = await this.#hosts(extension, candidate, request, routed, live);
      } catch (error) {
        reject(first, messageOf(error), error);
        continue;
      }
      // A pool is one report per host, in the order placement tries them.
      decision.candidates.pop();
      const estimate = extension.estimateCost?.(profile, request.ttlSeconds);
      for (const host of hosts) {
        const remote = host as RemoteHost | undefined;
        const report = newReport(host?.name ?? 'local', remote?.pool);
        if (estimate) report.estimate = estimate;
        const failed = request.exclude?.get(report.host);
        if (failed) reject(report, `failed during this create: ${failed}`);
        else if (remote) {
          // A host named on its own is tried even while it rests: the user asked for it.
          const refusal = hostRefusal(remote, live, statuses.get(remote.name), now, Boolean(remote.pool));
          if (refusal) reject(report, refusal);
          else {
            // No key to log in with is the caller's mistake: refused here, before anything is recorded.
            try {
              extension.checkAccess?.(remote);
            } catch (error) {
              reject(report, messageOf(error), error);
            }
          }
        }
        if (candidate.max_live !== undefined) {
          const used = live.filter(
            (r) => r.profile === profile.id && r.extension === candidate.extension,
          ).length;
          if (used >= candidate.max_live) {
            reject(
              report,
              `burst cap reached (${used}/${candidate.max_live} live ${profile.id} sandboxes on ${candidate.extension})`,
            );
          }
        }
        if (candidate.max_cost !== undefined && estimate && estimate.credits > candidate.max_cost) {
          reject(report, `estimate ${estimate.credits} credits is over max_cost ${candidate.max_cost}`);
        }
        // Only a routed profile probes: a single candidate fails in provision with the precise SSH error.
        if (routed && report.reasons.length === 0 && remote?.ssh) {
          const unreachable = await (this.#deps.probe ?? probeSsh)(remote);
          if (unreachable) reject(report, `host unreachable: ${unreachable}`);
        }
        if (report.reasons.length > 0) continue;
        const hold = await this.#hold(report, extension, estimate, request, holdFor, (reason, error) =>
          reject(report, reason, error),
        );
        if (report.reasons.length > 0) continue;
        report.feasible = true;
        decision.chosen ??= { report, extension, host, inputs, ...(hold ? { hold } : {}) };
        if (holdFor) break; // a create takes the first feasible host and looks no further
      }
      if (holdFor && decision.chosen) break;
    }
    return decision;
  }

  /**
   * For a metered candidate: on a create, the credit hold (taken atomically, or a rejection); when
   * only explaining, whether the balance would do.
   */
  async #hold(
    report: CandidateReport,
    extension: SandboxExtension,
    estimate: MeterQuote | undefined,
    request: RouteRequest,
    holdFor: HoldFor | undefined,
    reject: (reason: string, error?: unknown) => void,
  ): Promise<LedgerEntry | undefined> {
    const { profile } = request;
    const metered = report.pricing === 'metered' && estimate !== undefined;
    if (!metered) return undefined;
    if (!holdFor) {
      const balance = await this.#deps.ledger.balance(request.account);
      if (balance.available < estimate.credits) {
        reject(`insufficient credits: available ${balance.available}, estimate ${estimate.credits}`);
      }
      return undefined;
    }
    const describe = (balance: AccountBalance) =>
      insufficientCredits(this.#deps.catalog, profile, request, estimate, balance, extension);
    try {
      return await this.#deps.ledger.hold(
        request.account,
        estimate.credits,
        holdFor.sandboxId,
        holdFor.holdUntil,
        describe,
      );
    } catch (error) {
      if (!(error instanceof InsufficientCreditsError)) throw error;
      reject(
        `insufficient credits: available ${error.details.available}, estimate ${estimate.credits}`,
        error,
      );
      return undefined;
    }
  }

  /**
   * The hosts one candidate may go to: none for a local extension; for an SSH one, the host named by
   * the candidate, the request, the inputs or the default — every host of it, in placement order,
   * when that name is a pool.
   */
  async #hosts(
    extension: SandboxExtension,
    candidate: Candidate,
    request: RouteRequest,
    routed: boolean,
    live: SandboxRecord[],
  ): Promise<Array<HostTarget | undefined>> {
    if (extension.hostKind !== 'ssh') {
      // A routed profile's host is meant for its self-hosted candidates; a plain one is a mistake.
      if (!routed && request.host !== undefined && request.host !== 'local') {
        throw new InputError(
          `host: ${extension.id} runs on this machine and takes no host (got "${request.host}")`,
          { field: 'host' },
        );
      }
      return [undefined];
    }
    const name = candidate.host ?? request.host ?? extension.hostFromInputs?.(request.inputs);
    const pool = await this.#deps.pool?.(name);
    if (pool) return placementOrder(pool, live);
    const host = await this.#deps.resolveHost(name);
    if (!host) {
      throw new InputError(
        `host: ${extension.id} needs a host: name one (user@address[:port], a hosts-file alias or pool), or set a default in the hosts file`,
        { field: 'host' },
      );
    }
    return [host];
  }
}
