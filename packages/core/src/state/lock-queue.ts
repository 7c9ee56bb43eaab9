import { setTimeout as sleep } from 'node:timers/promises';
import { StateConflictError } from '../errors.js';

/**
 * Callers in one process that want the same lock queue here first, so only one of them at a time
 * asks the shared lock (a lock file, a database advisory lock): a busy server does not poll against
 * itself, and a database lock, which a session may take twice, is never taken twice by one process.
 */
export class LockQueue {
  readonly #queues = new Map<string, Promise<unknown>>();

  /** Runs `take` (which acquires the shared lock, runs the work and releases it) after earlier callers of `key`. */
  async run<T>(key: string, waitMs: number | undefined, take: () => Promise<T>): Promise<T> {
    const previous = (this.#queues.get(key) ?? Promise.resolve()).catch(() => {});
    // A caller with a deadline stops waiting here when it passes, as it would for the shared lock.
    const turn =
      waitMs === undefined
        ? previous
        : Promise.race([
            previous,
            sleep(waitMs, undefined, { ref: false }).then(() => {
              throw new StateConflictError(
                `another operation in this process is working on ${key} (waited ${Math.round(waitMs / 1000)} s); try again when it is done`,
                { lock: key },
              );
            }),
          ]);
    const mine = turn.then(take);
    this.#queues.set(key, mine);
    try {
      return await mine;
    } finally {
      if (this.#queues.get(key) === mine) this.#queues.delete(key);
    }
  }
}
