import { connect } from 'node:net';
import type { Catalog } from '../catalog/catalog.js';
import type { Profile, ProfileDeclaration } from '../declarations/profile-schema.js';
import {
  InputError,
  InsufficientCreditsError,
  messageOf,
  NoBackendAvailableError,
  SandboxerError,
} from '../errors.js';
import type { RawInputs, SandboxExtension } from '../extensions/contract.js';
import type { AccountBalance, CreditsLedger } from '../metering/ledger.js';
import type { HostTarget, RemoteHost } from '../records/host-target.js';
import type { LedgerEntry } from '../records/ledger-entry.js';
import type { MeterQuote } from '../records/metering.js';
import { LIVE_STATES, type SandboxRecord } from '../records/sandbox.js';
import { formatDuration } from '../util/duration.js';

type Candidate = NonNullable<ProfileDeclaration['routing']>['candidates'][number];

/** What the resolver found out about one candidate. */
export interface CandidateReport {
  index: number;
  extension: string;
  host: string;
  pricing: 'metered' | 'self-hosted';
  feasible: boolean;
  /** Why it was rejected; empty when feasible. */
  reasons: string[];
  estimate?: MeterQuote;
}

/** The outcome of routing: every candidate looked at, and the chosen one (with its hold, on create). */
export interface RoutingDecision {
  profile: string;
  account: string;
  candidates: CandidateReport[];
  chosen?: {
    report: CandidateReport;
    extension: SandboxExtension;
    host: HostTarget | undefined;
    /** What the extension's validateInputs returned: handed to provision as it is. */
    inputs: unknown;
    hold?: LedgerEntry;
  };
}

/** What a create goes ahead with: the chosen candidate, and the decision that chose it. */
export type RoutingChoice = NonNullable<RoutingDecision['chosen']> & { decision: RoutingDecision };

/** A planned create (see lifecycle/plan.ts): what routing decides on. */
export interface RouteRequest {
  profile: Profile;
  /** Profile defaults merged with the user's inputs, checked against their kinds. */
  inputs: RawInputs;
  host: string | undefined;
  ttlSeconds: number;
  account: string;
  /** A restore: only this extension (the one that took the snapshot) can bring it back. */
  restore?: { extension: string };
}

/** For a create: hold credits on the chosen metered candidate, for this sandbox until then. */
export interface HoldFor {
  sandboxId: string;
  holdUntil: Date;
}

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
    throw this.#noneFeasible(request, decision, errors);
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
          this.#insufficient(profile, request, estimate, balance, extension);
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

  #noneFeasible(request: RouteRequest, decision: RoutingDecision, errors: Map<number, unknown>): Error {
    if (decision.candidates.length === 1) {
      const own = errors.get(0);
      if (own instanceof SandboxerError) return own;
    }
    const table = decision.candidates
      .map((c) => `  ${c.index + 1}. ${c.extension} on ${c.host}: ${c.reasons.join('; ')}`)
      .join('\n');
    return new NoBackendAvailableError(`no backend can take a ${request.profile.id} sandbox now:\n${table}`, {
      profile: request.profile.id,
      candidates: decision.candidates,
    });
  }

  /** The refusal message, with the cheapest alternatives: a shorter TTL that fits, or a self-hosted profile. */
  #insufficient(
    profile: Profile,
    request: RouteRequest,
    estimate: MeterQuote,
    balance: AccountBalance,
    extension: SandboxExtension,
  ): string {
    const alternatives: string[] = [];
    let fitting: { seconds: number; credits: number } | undefined;
    for (let seconds = request.ttlSeconds - 60; seconds >= 60; seconds -= 60) {
      const quote = extension.estimateCost?.(profile, seconds);
      if (quote && quote.credits <= balance.available) {
        fitting = { seconds, credits: quote.credits };
        break;
      }
    }
    if (fitting)
      alternatives.push(`a ttl of ${formatDuration(fitting.seconds)} (${fitting.credits} credits)`);
    const selfHosted = this.#deps.catalog
      .profiles()
      .filter((p) => this.#deps.catalog.extension(p.extension).capabilities.pricing_model === 'self-hosted')
      .map((p) => p.id.replace(/^profile\./, ''));
    if (selfHosted.length > 0)
      alternatives.push(`a self-hosted profile at no charge (${selfHosted.join(', ')})`);
    return (
      `account "${request.account}" cannot afford ${profile.id} for ${formatDuration(request.ttlSeconds)}: ` +
      `estimate ${estimate.credits} credits, available ${balance.available} (balance ${balance.balance}, held ${balance.held}). ` +
      `Cheapest alternatives: ${alternatives.join(', or ') || 'none'}; or grant the account more credits`
    );
  }
}

/** Undefined when the host's SSH port accepts a TCP connection within 3 s, else why not. */
export function probeSsh(host: RemoteHost, timeoutMs = 3000): Promise<string | undefined> {
  return new Promise((resolve) => {
    const socket = connect({ host: host.ssh.address, port: host.ssh.port });
    const done = (problem: string | undefined) => {
      socket.destroy();
      resolve(problem);
    };
    socket.setTimeout(timeoutMs, () =>
      done(`${host.ssh.address}:${host.ssh.port} did not answer in ${timeoutMs / 1000} s`),
    );
    socket.once('connect', () => done(undefined));
    socket.once('error', (error: NodeJS.ErrnoException) =>
      done(
        `${host.ssh.address}:${host.ssh.port}: ${error.code === 'ECONNREFUSED' ? 'connection refused' : error.message}`,
      ),
    );
  });
}
