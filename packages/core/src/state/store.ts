import type { HostStatus } from '../records/host-status.js';
import type { LedgerEntry } from '../records/ledger-entry.js';
import type { SandboxRecord } from '../records/sandbox.js';
import type { SnapshotRecord } from '../records/snapshot.js';

/** What a ledger transaction decided: entries to append (none to change nothing) and its result. */
export interface LedgerChange<T> {
  append: LedgerEntry[];
  result: T;
}

export interface LockOptions {
  /** How long to wait for another process to release the lock before giving up. */
  waitMs?: number;
}

/**
 * Where sandbox records live. The embedded default is a directory (`FileStateStore`); a team shares
 * PostgreSQL (`PostgresStateStore`). Implementations must be safe for many processes at once: `put`
 * replaces a record atomically, `withLock` serialises work on one key, and ledger transactions are
 * atomic per account. testing/state-conformance.ts checks an implementation against all of it.
 */
export interface StateStore {
  /** A description for messages, e.g. the directory. */
  readonly location: string;
  getSandbox(id: string): Promise<SandboxRecord | undefined>;
  putSandbox(record: SandboxRecord): Promise<void>;
  listSandboxes(): Promise<SandboxRecord[]>;
  getSnapshot(id: string): Promise<SnapshotRecord | undefined>;
  putSnapshot(record: SnapshotRecord): Promise<void>;
  /** Every snapshot record (deleted ones too), oldest first. */
  listSnapshots(): Promise<SnapshotRecord[]>;
  /** The credits history, oldest first: all of it, or one account's. */
  readLedger(account?: string): Promise<LedgerEntry[]>;
  /**
   * Check-and-append on one account's history as one transaction: `fn` gets the account's entries
   * (oldest first) while no other process can change them, and what it returns to append is written
   * durably before any other transaction on the account sees the history. If `fn` throws, nothing
   * is written. This is how concurrent holds (from any number of processes) never overspend.
   */
  ledgerTransaction<T>(
    account: string,
    fn: (entries: LedgerEntry[]) => LedgerChange<T> | Promise<LedgerChange<T>>,
  ): Promise<T>;
  /** Adds entries whose ids it does not have yet (`state import`); returns how many were new. */
  importLedger(entries: LedgerEntry[]): Promise<number>;
  /** What is remembered about a host (drained, resting, probed); undefined if nothing. */
  getHostStatus(host: string): Promise<HostStatus | undefined>;
  putHostStatus(status: HostStatus): Promise<void>;
  listHostStatuses(): Promise<HostStatus[]>;
  /** Runs `fn` while holding an exclusive, crash-safe lock named `key` (released if the holder dies). */
  withLock<T>(key: string, fn: () => Promise<T>, options?: LockOptions): Promise<T>;
  /** Lets go of connections (a database pool); the store is not used after. */
  close?(): Promise<void>;
}
