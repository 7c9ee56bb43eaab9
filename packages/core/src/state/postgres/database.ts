import type { Client, Pool, PoolClient, PoolConfig } from 'pg';
import { translatePgError } from './connection.js';
import { type Migration, migrate } from './migrations.js';

/**
 * One database, as the store uses it: a pool (connected and migrated on first use, so opening a
 * store costs nothing), single queries, transactions, and lone connections for the locks. Driver
 * errors come out in our terms (the database being away is StateUnavailableError).
 */
export class Database {
  /** The URL without its password, for messages. */
  readonly location: string;
  readonly #url: string;
  readonly #poolSize: number;
  #pool: Promise<Pool> | undefined;
  #applied: Migration[] = [];

  constructor(url: string, location: string, poolSize = 10) {
    this.#url = url;
    this.location = location;
    this.#poolSize = poolSize;
  }

  /** Connects and migrates if not done yet; returns the migrations this process applied. */
  async migrate(): Promise<Migration[]> {
    await this.guard(this.#ready());
    return this.#applied;
  }

  query<R extends object>(sql: string, values: unknown[] = []): Promise<{ rows: R[] }> {
    return this.guard(this.#ready().then((pool) => pool.query<R & Record<string, unknown>>(sql, values)));
  }

  /** BEGIN, `work`, COMMIT (ROLLBACK if it throws), on one connection of the pool. */
  transaction<T>(work: (client: PoolClient) => Promise<T>): Promise<T> {
    return this.guard(
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

  /** A connection of its own, outside the pool (the locks' one). */
  async connect(): Promise<Client> {
    const { default: pg } = await import('pg');
    const client = new pg.Client(this.#config());
    await client.connect();
    return client;
  }

  async close(): Promise<void> {
    const pool = this.#pool;
    this.#pool = undefined;
    if (pool) await (await pool.catch(() => undefined))?.end().catch(() => {});
  }

  /** Driver errors in our terms. */
  async guard<T>(work: Promise<T>): Promise<T> {
    try {
      return await work;
    } catch (error) {
      throw translatePgError(error, this.location);
    }
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
        max: this.#poolSize,
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
}
