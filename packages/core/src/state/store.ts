import type { LedgerEntry } from '../records/ledger-entry.js';
import type { SandboxRecord } from '../records/sandbox.js';
import type { SnapshotRecord } from '../records/snapshot.js';

export interface LockOptions {
  /** How long to wait for another process to release the lock before giving up. */
  waitMs?: number;
}

/**
 * Where sandbox records live. The embedded default is a directory (`FileStateStore`); a shared
 * backend can implement the same interface. Implementations must be safe for many processes at
 * once: `put` replaces a record atomically, and `withLock` serialises work on one key.
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
  /** The credits history, oldest first. */
  readLedger(): Promise<LedgerEntry[]>;
  /** Appends to the credits history durably; callers hold the `ledger` lock around check-and-append. */
  appendLedger(entries: LedgerEntry[]): Promise<void>;
  /** Runs `fn` while holding an exclusive, crash-safe lock named `key` (released if the holder dies). */
  withLock<T>(key: string, fn: () => Promise<T>, options?: LockOptions): Promise<T>;
}
