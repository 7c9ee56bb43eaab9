import type { OperationOptions } from '../extensions/contract.js';
import type { HostsOverview } from '../hosts/overview.js';
import type { AccountBalance } from '../metering/balance.js';
import type { BillingQuery, BillingRow } from '../metering/billing-export.js';
import type { HostStatus } from '../records/host-status.js';
import type { LedgerEntry } from '../records/ledger-entry.js';
import type { MeterQuote } from '../records/metering.js';
import type { SandboxRecord } from '../records/sandbox.js';
import type { SnapshotRecord } from '../records/snapshot.js';
import type { CandidateReport } from '../routing/types.js';
import type { RestoreOptions, SnapshotCreateOptions } from '../snapshots/types.js';
import type { CreateOptions, CreateRequest, DestroyOptions } from './types.js';

/**
 * What a user can ask of sand-boxer, wherever it runs: the manager on this machine, or a team's
 * server through @sand-boxer/client. The CLI and the action work through this, so `--server`
 * changes where the work happens, never what a command prints or how it exits.
 */
export interface SandboxService {
  create(request: CreateRequest, options?: CreateOptions): Promise<SandboxRecord>;
  get(id: string): Promise<SandboxRecord>;
  list(options?: { all?: boolean }): Promise<SandboxRecord[]>;
  destroy(id: string, options?: DestroyOptions): Promise<SandboxRecord>;
  extend(id: string, ttl: string | number): Promise<SandboxRecord>;
  estimateReport(profile: string, ttl?: string): Promise<EstimateReport>;
  routeReport(request: CreateRequest): Promise<RouteReport>;
  readonly credits: CreditsService;
  readonly snapshots: SnapshotService;
  readonly hosts: HostService;
  /** Lets go of connections; the service is not used after. */
  close(): Promise<void>;
}

/** What a sandbox of a profile would cost, and on what. */
export interface EstimateReport {
  profile: string;
  extension: string;
  pricing: string;
  /** The TTL priced: the one asked for, else the profile's (`30m`). */
  ttl: string;
  quote: MeterQuote | null;
}

/** Where a create would go and why: every candidate, and the chosen one's report. */
export interface RouteReport {
  profile: string;
  account: string;
  candidates: CandidateReport[];
  chosen: CandidateReport | null;
}

export interface CreditsService {
  balance(account: string): Promise<AccountBalance>;
  accounts(): Promise<AccountBalance[]>;
  grant(account: string, credits: number, note?: string): Promise<LedgerEntry>;
  history(account?: string): Promise<LedgerEntry[]>;
  billing(query?: BillingQuery): Promise<BillingRow[]>;
}

export interface SnapshotService {
  create(sandbox: string, options?: SnapshotCreateOptions): Promise<SnapshotRecord>;
  list(options?: { all?: boolean }): Promise<SnapshotRecord[]>;
  get(ref: string): Promise<SnapshotRecord>;
  pull(ref: string, options?: OperationOptions): Promise<SnapshotRecord>;
  delete(ref: string, options?: OperationOptions): Promise<SnapshotRecord>;
  restore(ref: string, options?: RestoreOptions): Promise<SandboxRecord>;
}

/** The hosts file's hosts and pools as the state knows them (`sandboxer hosts`, `GET /v1/hosts`). */
export interface HostService {
  list(): Promise<HostsOverview>;
  /** Probes a host, a pool's hosts, or (none) every host; a host that answers is healthy again. */
  probe(name?: string): Promise<HostStatus[]>;
  drain(host: string): Promise<HostStatus>;
  undrain(host: string): Promise<HostStatus>;
}
