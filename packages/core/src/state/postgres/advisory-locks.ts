import { setTimeout as sleep } from 'node:timers/promises';
import type { Client } from 'pg';
import { messageOf, StateConflictError } from '../../errors.js';
import { LockQueue } from '../lock-queue.js';
import type { LockOptions } from '../store.js';

const LOCK_SQL = "SELECT pg_try_advisory_lock(hashtextextended('sandboxer:' || $1, 0)) AS ok";
const UNLOCK_SQL = "SELECT pg_advisory_unlock(hashtextextended('sandboxer:' || $1, 0))";
/** Released locks are announced here, so waiters in other processes try again at once. */
const CHANNEL = 'sandboxer_unlocked';

/**
 * `withLock` on PostgreSQL session advisory locks, all held on one connection of this process: a
 * lock lives as long as that connection, so a holder that dies (kill -9, a vanished machine once
 * TCP keepalive notices) releases every lock it had, and another process takes over. If the
 * connection drops while this process still holds locks (the database restarted), it reconnects and
 * takes them again at once; the reaper (gc/reaper.ts) waits two passes before it believes a holder
 * is gone. Waiting is `pg_try_advisory_lock` again whenever a holder anywhere announces a release
 * (LISTEN/NOTIFY), and every 100 ms at most otherwise (a blocking wait would tie up the connection).
 */
export class AdvisoryLocks {
  readonly #connect: () => Promise<Client>;
  readonly #translate: (error: unknown) => unknown;
  readonly #queue = new LockQueue();
  /** The keys this process holds now. */
  readonly #held = new Set<string>();
  #client: Promise<Client> | undefined;
  #idle: NodeJS.Timeout | undefined;
  /** Waiters to wake when a key is announced free. */
  readonly #waiters = new Map<string, Set<() => void>>();
  #closed = false;

  /** `translate` turns driver errors into ours (the database being away, see connection.ts). */
  constructor(connect: () => Promise<Client>, translate: (error: unknown) => unknown) {
    this.#connect = connect;
    this.#translate = translate;
  }

  withLock<T>(key: string, fn: () => Promise<T>, options: LockOptions = {}): Promise<T> {
    return this.#queue.run(key, options.waitMs, async () => {
      await this.#acquire(key, options.waitMs ?? 30_000).catch((error: unknown) => {
        throw this.#translate(error);
      });
      try {
        return await fn();
      } finally {
        await this.#release(key);
      }
    });
  }

  /** Ends the lock connection (every lock on it is released). */
  async close(): Promise<void> {
    this.#closed = true;
    await this.#end();
  }

  async #end(): Promise<void> {
    clearTimeout(this.#idle);
    const client = this.#client;
    this.#client = undefined;
    if (client) await (await client.catch(() => undefined))?.end().catch(() => {});
  }

  async #acquire(key: string, waitMs: number): Promise<void> {
    clearTimeout(this.#idle);
    this.#closed = false;
    const deadline = Date.now() + waitMs;
    for (let pause = 10; ; pause = Math.min(pause * 2, 100)) {
      const client = await this.#connection();
      socketOf(client)?.ref();
      const { rows } = await client.query<{ ok: boolean }>(LOCK_SQL, [key]);
      if (rows[0]?.ok) {
        this.#held.add(key);
        return;
      }
      if (Date.now() >= deadline) {
        throw new StateConflictError(
          `another sand-boxer process is working on ${key} (waited ${Math.round(waitMs / 1000)} s); try again when it is done`,
          { lock: key },
        );
      }
      await this.#released(key, Math.min(pause, Math.max(0, deadline - Date.now())));
    }
  }

  /** Resolves when `key` is announced free, or after `ms`. */
  #released(key: string, ms: number): Promise<void> {
    return new Promise((resolve) => {
      const waiters = this.#waiters.get(key) ?? new Set<() => void>();
      this.#waiters.set(key, waiters);
      const done = () => {
        clearTimeout(timer);
        waiters.delete(done);
        if (waiters.size === 0) this.#waiters.delete(key);
        resolve();
      };
      const timer = setTimeout(done, ms);
      waiters.add(done);
    });
  }

  async #release(key: string): Promise<void> {
    this.#held.delete(key);
    // Only on the connection that is there: a lost one took the lock with it.
    const client = await this.#client?.catch(() => undefined);
    if (!client) return;
    await client.query(UNLOCK_SQL, [key]).catch(() => {});
    // Waiters in other processes (another replica) learn at once that it is free.
    await client.query('SELECT pg_notify($1, $2)', [CHANNEL, key]).catch(() => {});
    if (this.#held.size === 0) {
      // Kept a little for the next lock (a server takes many), but no longer keeping the process
      // alive: a finished command exits at once, as the query pool lets it (allowExitOnIdle).
      socketOf(client)?.unref();
      this.#idle = setTimeout(() => void this.#end(), 5000);
      this.#idle.unref();
    }
  }

  /** The lock connection, opened when first needed and again after it was lost. */
  #connection(): Promise<Client> {
    this.#client ??= this.#connect().then(
      (client) => {
        const lost = (error?: Error) => {
          if (this.#client === undefined) return;
          this.#client = undefined;
          if (this.#held.size > 0 && !this.#closed) void this.#retake(error);
        };
        client.on('error', lost);
        client.on('end', () => lost());
        client.on('notification', (message) => {
          for (const wake of [...(this.#waiters.get(message.payload ?? '') ?? [])]) wake();
        });
        return client.query(`LISTEN ${CHANNEL}`).then(() => client);
      },
      (error: unknown) => {
        this.#client = undefined;
        throw error;
      },
    );
    return this.#client;
  }

  /** After a lost connection: reconnect until the database answers, then take the held keys again. */
  async #retake(error: Error | undefined): Promise<void> {
    process.emitWarning(
      `sand-boxer: lost the lock connection${error ? ` (${messageOf(error)})` : ''}; taking ${this.#held.size} locks again`,
    );
    for (let pause = 200; this.#held.size > 0 && !this.#closed; pause = Math.min(pause * 2, 2000)) {
      try {
        const client = await this.#connection();
        for (const key of [...this.#held]) {
          const { rows } = await client.query<{ ok: boolean }>(LOCK_SQL, [key]);
          if (!rows[0]?.ok)
            process.emitWarning(`sand-boxer: lock ${key} was taken by another process meanwhile`);
        }
        return;
      } catch {
        await sleep(pause);
      }
    }
  }
}

/** The connection's socket (node-postgres has no unref of its own; its pool does the same inside). */
function socketOf(client: Client): { ref(): void; unref(): void } | undefined {
  return (client as unknown as { connection?: { stream?: { ref(): void; unref(): void } } }).connection
    ?.stream;
}
