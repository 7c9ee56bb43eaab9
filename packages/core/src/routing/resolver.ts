import type { Catalog } from '../catalog/catalog.js';
import { InputError, InsufficientCreditsError, messageOf } from '../errors.js';
import type { SandboxExtension } from '../extensions/contract.js';
import type { AccountBalance } from '../metering/balance.js';
import type { CreditsLedger } from '../metering/ledger.js';
import type { HostTarget, RemoteHost } from '../records/host-target.js';
import type { LedgerEntry } from '../records/ledger-entry.js';
import { LIVE_STATES, type SandboxRecord } from '../records/sandbox.js';
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
    const live = (await this.#deps.listSandboxes()).filter((r) => LIVE_STATES.has(r.state));

    for (const [index, candidate] of candidates.entries()) {
      const declaration = this.#deps.catalog.extension(candidate.extension);
      const report: CandidateReport = {
        index,
        extension: candidate.extension,
        host: candidate.host ?? request.host ?? '(default)',
        pricing: declaration.capabilities.pricing_model,
        feasible: false,
        reasons: [],
      };
      decision.candidates.push(report);
      const reject = (reason: string, error?: unknown) => {
        report.reasons.push(reason);
        if (error !== undefined && !errors.has(index)) errors.set(index, error);
      };

      if (request.restore && candidate.extension !== request.restore.extension) {
        reject(`the snapshot was taken with ${request.restore.extension}`);
        continue;
      }
      if (candidate.isolation && !declaration.capabilities.isolation_levels.includes(candidate.isolation)) {
        reject(
          `isolation "${candidate.isolation}" not offered (offers: ${declaration.capabilities.isolation_levels.join(', ')})`,
        );
        continue;
      }
      let extension: SandboxExtension;
      let inputs: unknown;
      let host: HostTarget | undefined;
      try {
        extension = await this.#deps.extension(candidate.extension);
        inputs = extension.validateInputs(request.inputs, { restore: request.restore !== undefined });
        host = await this.#host(extension, candidate, request, routed);
      } catch (error) {
        reject(messageOf(error), error);
        continue;
      }
      report.host = host?.name ?? 'local';

      const remote = host as RemoteHost | undefined;
      if (remote?.capacity !== undefined) {
        const used = live.filter((r) => r.host === remote.name).length;
        if (used >= remote.capacity)
          reject(`host ${remote.name} is full (${used}/${remote.capacity} live sandboxes)`);
      }
      if (candidate.max_live !== undefined) {
        const used = live.filter(
          (r) => r.profile === profile.id && r.extension === candidate.extension,
        ).length;
        if (used >= candidate.max_live) {
          reject(
            `burst cap reached (${used}/${candidate.max_live} live ${profile.id} sandboxes on ${candidate.extension})`,
          );
        }
      }
      const estimate = extension.estimateCost?.(profile, request.ttlSeconds);
      if (estimate) report.estimate = estimate;
      if (candidate.max_cost !== undefined && estimate && estimate.credits > candidate.max_cost) {
        reject(`estimate ${estimate.credits} credits is over max_cost ${candidate.max_cost}`);
      }
      // Only a routed profile probes: a single candidate fails in provision with the precise SSH error.
      if (routed && report.reasons.length === 0 && remote?.ssh) {
        const unreachable = await (this.#deps.probe ?? probeSsh)(remote);
        if (unreachable) reject(`host unreachable: ${unreachable}`);
      }
      const metered = declaration.capabilities.pricing_model === 'metered' && estimate !== undefined;
      let hold: LedgerEntry | undefined;
      if (report.reasons.length === 0 && metered) {
        const describe = (balance: AccountBalance) =>
          insufficientCredits(this.#deps.catalog, profile, request, estimate, balance, extension);
        if (holdFor) {
          try {
            hold = await this.#deps.ledger.hold(
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
          }
        } else {
          const balance = await this.#deps.ledger.balance(request.account);
          if (balance.available < estimate.credits) {
            reject(`insufficient credits: available ${balance.available}, estimate ${estimate.credits}`);
          }
        }
      }
      if (report.reasons.length > 0) continue;
      report.feasible = true;
      decision.chosen ??= { report, extension, host, inputs, ...(hold ? { hold } : {}) };
      if (holdFor) break; // a create takes the first feasible candidate and looks no further
    }
    return decision;
  }

  /** The host for one candidate: local extensions need none; SSH ones resolve the candidate's or the user's. */
  async #host(
    extension: SandboxExtension,
    candidate: Candidate,
    request: RouteRequest,
    routed: boolean,
  ): Promise<HostTarget | undefined> {
    if (extension.hostKind !== 'ssh') {
      // A routed profile's host is meant for its self-hosted candidates; a plain one is a mistake.
      if (!routed && request.host !== undefined && request.host !== 'local') {
        throw new InputError(
          `host: ${extension.id} runs on this machine and takes no host (got "${request.host}")`,
          { field: 'host' },
        );
      }
      return undefined;
    }
    const name = candidate.host ?? request.host ?? extension.hostFromInputs?.(request.inputs);
    const host = await this.#deps.resolveHost(name);
    if (!host) {
      throw new InputError(
        `host: ${extension.id} needs a host: name one (user@address[:port] or a hosts-file alias), or set a default in the hosts file`,
        { field: 'host' },
      );
    }
    return host;
  }
}
