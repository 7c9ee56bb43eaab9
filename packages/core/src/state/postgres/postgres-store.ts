import type { Pool, PoolClient, PoolConfig } from 'pg';
import type { z } from 'zod';
import { StateCorruptError } from '../../errors.js';
import { type LedgerEntry, ledgerEntrySchema } from '../../records/ledger-entry.js';
import { type SandboxRecord, sandboxRecordSchema } from '../../records/sandbox.js';
import { type SnapshotRecord, snapshotRecordSchema } from '../../records/snapshot.js';
import { isSandboxId } from '../../util/ids.js';
import { isSnapshotId } from '../../util/snapshot-ids.js';
import type { LedgerChange, LockOptions, StateStore } from '../store.js';
import { AdvisoryLocks } from './advisory-locks.js';
import { checkPostgresUrl, redactUrl, translatePgError } from './connection.js';
import { type Migration, migrate } from './migrations.js';

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
  readonly #url: string;
  readonly #options: PostgresStoreOptions;
  #pool: Promise<Pool> | undefined;
  #applied: Migration[] = [];
  readonly #locks: AdvisoryLocks;

  constructor(url: string, options: PostgresStoreOptions = {}) {
    checkPostgresUrl(url);
    this.#url = url;
    this.#options = options;
    this.location = redactUrl(url);
    this.#locks = new AdvisoryLocks(
      async () => {
        const { default: pg } = await import('pg');
        const client = new pg.Client(this.#config());
        await client.connect();
        return client;
      },
      (error) => translatePgError(error, this.location),
    );
  }

  /** Connects and migrates if not done yet; returns the migrations this call applied. */
  async migrate(): Promise<Migration[]> {
    await this.#ready();
    return this.#applied;
  }

  async getSandbox(id: string): Promise<SandboxRecord | undefined> {
    if (!isSandboxId(id)) return undefined;
    const { rows } = await this.#query<{ record: unknown }>(
      'SELECT record FROM sandboxer_sandboxes WHERE id = $1',
      [id],
    );
    return rows[0] ? this.#parse(`sandbox ${id}`, rows[0].record, sandboxRecordSchema) : undefined;
  }

  async putSandbox(record: SandboxRecord): Promise<void> {
    const valid = sandboxRecordSchema.parse(record);
    if (!isSandboxId(valid.id))
      throw new StateCorruptError(`refusing to store a record with id ${JSON.stringify(valid.id)}`);
    await this.#query(
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
    const { rows } = await this.#query<{ id: string; record: unknown }>(
      'SELECT id, record FROM sandboxer_sandboxes ORDER BY created_at, id',
    );
    return this.#parseAll(rows, sandboxRecordSchema);
  }

  async getSnapshot(id: string): Promise<SnapshotRecord | undefined> {
    if (!isSnapshotId(id)) return undefined;
    const { rows } = await this.#query<{ record: unknown }>(
      'SELECT record FROM sandboxer_snapshots WHERE id = $1',
      [id],
    );
    return rows[0] ? this.#parse(`snapshot ${id}`, rows[0].record, snapshotRecordSchema) : undefined;
  }

  async putSnapshot(record: SnapshotRecord): Promise<void> {
    const valid = snapshotRecordSchema.parse(record);
    if (!isSnapshotId(valid.id))
      throw new StateCorruptError(`refusing to store a snapshot with id ${JSON.stringify(valid.id)}`);
    await this.#query(
      `INSERT INTO sandboxer_snapshots (id, created_at, record) VALUES ($1, $2, $3)
       ON CONFLICT (id) DO UPDATE SET record = $3`,
      [valid.id, valid.created_at, JSON.stringify(valid)],
    );
  }

  async listSnapshots(): Promise<SnapshotRecord[]> {
    const { rows } = await this.#query<{ id: string; record: unknown }>(
      'SELECT id, record FROM sandboxer_snapshots ORDER BY created_at, id',
    );
    return this.#parseAll(rows, snapshotRecordSchema);
  }

  async readLedger(account?: string): Promise<LedgerEntry[]> {
    const { rows } =
      account === undefined
        ? await this.#query<{ entry: unknown }>('SELECT entry FROM sandboxer_ledger ORDER BY seq')
        : await this.#query<{ entry: unknown }>(
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
    return this.#transaction(async (client) => {
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
    return this.#transaction(async (client) => {
      let added = 0;
      for (const entry of entries) added += await this.#insertEntry(client, entry, true);
      return added;
    });
  }

  async withLock<T>(key: string, fn: () => Promise<T>, options: LockOptions = {}): Promise<T> {
    await this.#guard(this.#ready());
    // Only taking the lock is the database's business: errors of `fn` pass through as they are.
    return this.#locks.withLock(key, fn, options);
  }

  async close(): Promise<void> {
    await this.#locks.close();
    const pool = this.#pool;
    this.#pool = undefined;
    if (pool) await (await pool.catch(() => undefined))?.end().catch(() => {});
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

  #config(): PoolConfig {
    return {
      connectionString: this.#url,
      application_name: 'sand-boxer',
      connectionTimeoutMillis: 5000,
      // A peer that vanished without closing (a dead machine) is noticed, and its locks released.
      keepAlive: true,
      keepAliveInitialDelayMillis: 10_000,
    };
  }

  /** The pool, connected and migrated once; a failed first attempt is retried by the next call. */
  #ready(): Promise<Pool> {
    this.#pool ??= (async () => {
      const { default: pg } = await import('pg');
      const pool = new pg.Pool({
        ...this.#config(),
        max: this.#options.poolSize ?? 10,
        // Idle connections do not keep a finished command's process alive.
        allowExitOnIdle: true,
      });
      // An idle connection the database dropped is an event, not a crash; the next query reconnects.
      pool.on('error', () => {});
      const client = await pool.connect();
      try {
        this.#applied = await migrate(client, this.location);
      } finally {
        client.release();
      }
      return pool;
    })().catch((error: unknown) => {
      this.#pool = undefined;
      throw error;
    });
    return this.#pool;
  }

  async #query<R extends object>(sql: string, values: unknown[] = []): Promise<{ rows: R[] }> {
    return this.#guard(this.#ready().then((pool) => pool.query<R & Record<string, unknown>>(sql, values)));
  }

  async #transaction<T>(work: (client: PoolClient) => Promise<T>): Promise<T> {
    return this.#guard(
      (async () => {
        const client = await (await this.#ready()).connect();
        let failed = false;
        try {
          await client.query('BEGIN');
          const result = await work(client);
          await client.query('COMMIT');
          return result;
        } catch (error) {
          failed = true;
          await client.query('ROLLBACK').catch(() => {});
          throw error;
        } finally {
          // A connection that saw an error is not given to the next caller (it may be broken).
          client.release(failed);
        }
      })(),
    );
  }

  /** Driver errors in our terms (the database being away is StateUnavailableError). */
  async #guard<T>(work: Promise<T>): Promise<T> {
    try {
      return await work;
    } catch (error) {
      throw translatePgError(error, this.location);
    }
  }
}
