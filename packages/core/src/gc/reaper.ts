import { messageOf, StateConflictError } from '../errors.js';
import { lockKey } from '../lifecycle/keys.js';
import type { SandboxLifecycle } from '../lifecycle/lifecycle.js';
import { leaseLapse, leaseLapsed } from '../records/lease.js';
import type { SandboxRecord } from '../records/sandbox.js';

/** What one pass of the reaper did with one sandbox. */
export interface ReapedSandbox {
  sandbox: string;
  found: SandboxRecord['state'];
  result: 'rolled back' | 'finished' | 'lease lapsed' | 'failed';
  detail?: string;
}

export interface ReaperOptions {
  /** Between passes; a sandbox must be seen abandoned on two passes at least this far apart. */
  intervalMs?: number;
  log?: (message: string) => void;
}

const IN_FLIGHT = new Set<SandboxRecord['state']>(['provisioning', 'destroying']);

/**
 * Finishes what a dead process left half-done, and ends sandboxes whose lease lapsed, as a
 * long-running server does for every replica:
 * each pass looks at the sandboxes being created or destroyed, and one whose lock has been free on
 * two passes in a row (its process is gone: killed, its machine lost) is rolled back or torn down.
 * Two passes, not one: a live holder whose database connection dropped takes its locks again as
 * soon as the database is back, well within a pass; a dead one never does.
 */
export class Reaper {
  readonly #lifecycle: SandboxLifecycle;
  readonly #intervalMs: number;
  readonly #log: (message: string) => void;
  /** When a sandbox's lock was first seen free in the current run of passes. */
  readonly #freeSince = new Map<string, number>();
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<unknown> | undefined;

  constructor(lifecycle: SandboxLifecycle, options: ReaperOptions = {}) {
    this.#lifecycle = lifecycle;
    this.#intervalMs = options.intervalMs ?? 10_000;
    this.#log = options.log ?? (() => {});
  }

  start(): void {
    this.#timer = setInterval(() => {
      this.#running ??= this.pass()
        .catch((error: unknown) => this.#log(`reaper: ${messageOf(error)}`))
        .finally(() => {
          this.#running = undefined;
        });
    }, this.#intervalMs);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await this.#running;
  }

  async pass(now = Date.now()): Promise<ReapedSandbox[]> {
    const { store } = this.#lifecycle.deps;
    const records = await store.listSandboxes();
    const reaped = await this.#endLapsedLeases(records);
    const inFlight = records.filter((r) => IN_FLIGHT.has(r.state));
    const seen = new Set(inFlight.map((r) => r.id));
    for (const id of this.#freeSince.keys()) if (!seen.has(id)) this.#freeSince.delete(id);
    for (const record of inFlight) {
      if (!(await this.#lockIsFree(record.id))) {
        this.#freeSince.delete(record.id);
        continue;
      }
      const since = this.#freeSince.get(record.id);
      if (since === undefined) {
        this.#freeSince.set(record.id, now);
        continue;
      }
      if (now - since < this.#intervalMs * 0.9) continue;
      this.#freeSince.delete(record.id);
      reaped.push(await this.#finish(record));
    }
    return reaped;
  }

  /**
   * Ends ready sandboxes whose lease lapsed (their keeper is gone): on a backend that keeps leases
   * itself the host has already torn down and this settles the record; on one that does not
   * (saas-stub, metered), this is what ends it, billed to its last renewal.
   */
  async #endLapsedLeases(records: SandboxRecord[]): Promise<ReapedSandbox[]> {
    const now = () => this.#lifecycle.deps.now();
    const reaped: ReapedSandbox[] = [];
    for (const record of records.filter((r) => leaseLapsed(r, now()))) {
      this.#log(`reaper: sandbox ${record.id}: ${leaseLapse(record)}: destroying it`);
      try {
        await this.#lifecycle.destroy(record.id, {
          lockWaitMs: 1000,
          onlyIf: (current) => leaseLapsed(current, now()),
        });
        reaped.push({ sandbox: record.id, found: record.state, result: 'lease lapsed' });
      } catch (error) {
        if (error instanceof StateConflictError) continue; // another replica is ending it
        this.#log(`reaper: sandbox ${record.id}: ${messageOf(error)}`);
        reaped.push({ sandbox: record.id, found: record.state, result: 'failed', detail: messageOf(error) });
      }
    }
    return reaped;
  }

  async #lockIsFree(id: string): Promise<boolean> {
    try {
      return await this.#lifecycle.deps.store.withLock(lockKey(id), async () => true, { waitMs: 0 });
    } catch (error) {
      if (error instanceof StateConflictError) return false;
      throw error;
    }
  }

  async #finish(record: SandboxRecord): Promise<ReapedSandbox> {
    const result = record.state === 'provisioning' ? 'rolled back' : 'finished';
    this.#log(
      `reaper: sandbox ${record.id} was left ${record.state} by a process that is gone: destroying it`,
    );
    try {
      await this.#lifecycle.destroy(record.id, {
        lockWaitMs: 1000,
        onlyIf: (current) => IN_FLIGHT.has(current.state),
      });
      return { sandbox: record.id, found: record.state, result };
    } catch (error) {
      this.#log(`reaper: sandbox ${record.id}: ${messageOf(error)}`);
      return { sandbox: record.id, found: record.state, result: 'failed', detail: messageOf(error) };
    }
  }
}
