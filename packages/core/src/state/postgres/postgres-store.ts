import type { PoolClient } from 'pg';
import type { z } from 'zod';
import { StateCorruptError } from '../../errors.js';
import { type HostStatus, hostStatusSchema, isHostAlias } from '../../records/host-status.js';
import { type LedgerEntry, ledgerEntrySchema } from '../../records/ledger-entry.js';
import { type SandboxRecord, sandboxRecordSchema } from '../../records/sandbox.js';
import { type SnapshotRecord, snapshotRecordSchema } from '../../records/snapshot.js';
import { isSandboxId } from '../../util/ids.js';
import { isSnapshotId } from '../../util/snapshot-ids.js';
import type { LedgerChange, LockOptions, StateStore } from '../store.js';
import { AdvisoryLocks } from './advisory-locks.js';
import { checkPostgresUrl, redactUrl, translatePgError } from './connection.js';
import { Database } from './database.js';
import type { Migration } from './migrations.js';

export interface PostgresStoreOptions {
  /** Connections in the query pool (locks use one more of their own). */
  poolSize?: number;
}

/**
 * The shared state store: sandbox and snapshot records as JSONB rows, the ledger as an append-only
 * table, locks as advisory locks. Any number of processes (CLI runs, `serve` replicas) on one
 * database see one state; per-account ledger transactions make concurrent holds safe across them.
 *
 * The `pg` driver is loaded, and the schema migrated, on first use, so a store can be opened
 * cheaply (and a command that fails its input checks never connects).
 */
export class PostgresStateStore implements StateStore {
  readonly location: string;
  readonly #db: Database;
  readonly #locks: AdvisoryLocks;

  constructor(url: string, options: PostgresStoreOptions = {}) {
    checkPostgresUrl(url);
    this.location = redactUrl(url);
    this.#db = new Database(url, this.location, options.poolSize);
    this.#locks = new AdvisoryLocks(
      () => this.#db.connect(),
      (error) => translatePgError(error, this.location),
    );
  }

  /** Connects and migrates if not done yet; returns the migrations this process applied. */
  migrate(): Promise<Migration[]> {
    return this.#db.migrate();
  }

  async getSandbox(id: string): Promise<SandboxRecord | undefined> {
    if (!isSandboxId(id)) return undefined;
    const { rows } = await this.#db.query<{ record: unknown }>(
      'SELECT record FROM sandboxer_sandboxes WHERE id = $1',
      [id],
    );
    return rows[0] ? this.#parse(`sandbox ${id}`, rows[0].record, sandboxRecordSchema) : undefined;
  }

  async putSandbox(record: SandboxRecord): Promise<void> {
    const valid = sandboxRecordSchema.parse(record);
    if (!isSandboxId(valid.id))
      throw new StateCorruptError(`refusing to store a record with id ${JSON.stringify(valid.id)}`);
    await this.#db.query(
      `INSERT INTO sandboxer_sandboxes (id, state, account, created_at, updated_at, record)
       VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT (id) DO UPDATE SET state = $2, account = $3, updated_at = $5, record = $6`,
      [
        valid.id,
        valid.state,
        valid.account ?? null,
        valid.created_at,
        valid.updated_at,
        JSON.stringify(valid),
      ],
    );
  }

  async listSandboxes(): Promise<SandboxRecord[]> {
    const { rows } = await this.#db.query<{ id: string; record: unknown }>(
      'SELECT id, record FROM sandboxer_sandboxes ORDER BY created_at, id',
    );
    return this.#parseAll(rows, sandboxRecordSchema);
  }

  async getSnapshot(id: string): Promise<SnapshotRecord | undefined> {
    if (!isSnapshotId(id)) return undefined;
    const { rows } = await this.#db.query<{ record: unknown }>(
      'SELECT record FROM sandboxer_snapshots WHERE id = $1',
      [id],
    );
    return rows[0] ? this.#parse(`snapshot ${id}`, rows[0].record, snapshotRecordSchema) : undefined;
  }

  async putSnapshot(record: SnapshotRecord): Promise<void> {
    const valid = snapshotRecordSchema.parse(record);
    if (!isSnapshotId(valid.id))
      throw new StateCorruptError(`refusing to store a snapshot with id ${JSON.stringify(valid.id)}`);
    await this.#db.query(
      `INSERT INTO sandboxer_snapshots (id, created_at, record) VALUES ($1, $2, $3)
       ON CONFLICT (id) DO UPDATE SET record = $3`,
      [valid.id, valid.created_at, JSON.stringify(valid)],
    );
  }

  async listSnapshots(): Promise<SnapshotRecord[]> {
    const { rows } = await this.#db.query<{ id: string; record: unknown }>(
      'SELECT id, record FROM sandboxer_snapshots ORDER BY created_at, id',
    );
    return this.#parseAll(rows, snapshotRecordSchema);
  }

  async getHostStatus(host: string): Promise<HostStatus | undefined> {
    if (!isHostAlias(host)) return undefined;
    const { rows } = await this.#db.query<{ status: unknown }>(
      'SELECT status FROM sandboxer_hosts WHERE host = $1',
      [host],
    );
    return rows[0] ? this.#parse(`host ${host}`, rows[0].status, hostStatusSchema) : undefined;
  }

  async putHostStatus(status: HostStatus): Promise<void> {
    const valid = hostStatusSchema.parse(status);
    await this.#db.query(
      `INSERT INTO sandboxer_hosts (host, updated_at, status) VALUES ($1, $2, $3)
       ON CONFLICT (host) DO UPDATE SET updated_at = $2, status = $3`,
      [valid.host, valid.updated_at, JSON.stringify(valid)],
    );
  }

  async listHostStatuses(): Promise<HostStatus[]> {
    const { rows } = await this.#db.query<{ id: string; record: unknown }>(
      'SELECT host AS id, status AS record FROM sandboxer_hosts ORDER BY host',
    );
    return this.#parseAll(rows, hostStatusSchema);
  }

  async readLedger(account?: string): Promise<LedgerEntry[]> {
    const { rows } =
      account === undefined
        ? await this.#db.query<{ entry: unknown }>('SELECT entry FROM sandboxer_ledger ORDER BY seq')
        : await this.#db.query<{ entry: unknown }>(
            'SELECT entry FROM sandboxer_ledger WHERE account = $1 ORDER BY seq',
            [account],
          );
    return rows.map((r) => this.#ledgerEntry(r.entry));
  }

  /**
   * One database transaction: the account's advisory transaction lock (held until commit, so the
   * next transaction on the account reads what this one wrote), its entries, `fn`, the inserts.
   */
  async ledgerTransaction<T>(
    account: string,
    fn: (entries: LedgerEntry[]) => LedgerChange<T> | Promise<LedgerChange<T>>,
  ): Promise<T> {
    return this.#db.transaction(async (client) => {
      await client.query("SELECT pg_advisory_xact_lock(hashtextextended('sandboxer:ledger:' || $1, 0))", [
        account,
      ]);
      const { rows } = await client.query<{ entry: unknown }>(
        'SELECT entry FROM sandboxer_ledger WHERE account = $1 ORDER BY seq',
        [account],
      );
      const { append, result } = await fn(rows.map((r) => this.#ledgerEntry(r.entry)));
      for (const entry of append) await this.#insertEntry(client, entry);
      return result;
    });
  }

  async importLedger(entries: LedgerEntry[]): Promise<number> {
    return this.#db.transaction(async (client) => {
      let added = 0;
      for (const entry of entries) added += await this.#insertEntry(client, entry, true);
      return added;
    });
  }

  async withLock<T>(key: string, fn: () => Promise<T>, options: LockOptions = {}): Promise<T> {
    await this.#db.migrate();
    // Only taking the lock is the database's business: errors of `fn` pass through as they are.
    return this.#locks.withLock(key, fn, options);
  }

  async close(): Promise<void> {
    await this.#locks.close();
    await this.#db.close();
  }

  async #insertEntry(client: PoolClient, entry: LedgerEntry, skipKnown = false): Promise<number> {
    const valid = ledgerEntrySchema.parse(entry);
    const result = await client.query(
      `INSERT INTO sandboxer_ledger (id, account, kind, at, sandbox, hold, entry)
       VALUES ($1, $2, $3, $4, $5, $6, $7)${skipKnown ? ' ON CONFLICT (id) DO NOTHING' : ''}`,
      [
        valid.id,
        valid.account,
        valid.kind,
        valid.at,
        valid.sandbox ?? null,
        valid.hold ?? null,
        JSON.stringify(valid),
      ],
    );
    return result.rowCount ?? 0;
  }

  #ledgerEntry(value: unknown): LedgerEntry {
    return this.#parse('a ledger entry', value, ledgerEntrySchema);
  }

  #parse<T>(what: string, value: unknown, schema: z.ZodType<T>): T {
    const parsed = schema.safeParse(value);
    if (!parsed.success) {
      throw new StateCorruptError(`${this.location}: ${what} does not read as a valid record`, {
        state: this.location,
      });
    }
    return parsed.data;
  }

  /** Every row that reads as a record, in order; one bad row must not hide the others. */
  #parseAll<T>(rows: Array<{ id: string; record: unknown }>, schema: z.ZodType<T>): T[] {
    return rows.flatMap((row) => {
      const parsed = schema.safeParse(row.record);
      return parsed.success ? [parsed.data] : [];
    });
  }
}
