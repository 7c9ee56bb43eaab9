import type { Profile, ProfileDeclaration } from '../declarations/profile-schema.js';
import type { RawInputs, SandboxExtension } from '../extensions/contract.js';
import type { HostTarget } from '../records/host-target.js';
import type { LedgerEntry } from '../records/ledger-entry.js';
import type { MeterQuote } from '../records/metering.js';

/** What routing decides on, and what it decides. */

export type Candidate = NonNullable<ProfileDeclaration['routing']>['candidates'][number];

/** What the resolver found out about one candidate. */
export interface CandidateReport {
  index: number;
  extension: string;
  host: string;
  /** The pool the host belongs to, when the request named a pool. */
  pool?: string;
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
  /** Hosts that failed during this create (failover), with why: not tried again. */
  exclude?: Map<string, string>;
}

/** For a create: hold credits on the chosen metered candidate, for this sandbox until then. */
export interface HoldFor {
  sandboxId: string;
  holdUntil: Date;
}
