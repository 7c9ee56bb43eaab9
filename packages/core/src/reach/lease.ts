import { setTimeout as sleep } from 'node:timers/promises';
import { messageOf } from '../errors.js';

/**
 * Keeping a sandbox's lease: renewals well inside it (every lease/4), so that a network blip shorter
 * than the lease costs nothing. A failed renewal is retried with backoff (1 s, 2 s, … at most
 * lease/4) — the host counts only the time since the last renewal that arrived. A renewal that says
 * the sandbox is gone there ends the keeping.
 */

export interface LeaseOptions {
  leaseSeconds: number;
  /** Renews once; false when the sandbox is gone where the lease is kept. */
  renew: () => Promise<boolean>;
  log?: (message: string) => void;
  /** Ends the keeping early (the keeper is stopping). */
  signal: AbortSignal;
  /** Wait one interval before the first renewal (the lease was just granted). */
  delayFirst?: boolean;
}

export interface LeaseKeeping {
  /** Resolves when renewals end: stopped, or the sandbox is gone. */
  done: Promise<'stopped' | 'gone'>;
  /** When the last renewal arrived (ISO), for status lines. */
  lastRenewal(): string | undefined;
}

export function keepLease(options: LeaseOptions): LeaseKeeping {
  const interval = Math.max(1, options.leaseSeconds / 4) * 1000;
  let last: string | undefined;
  const done = (async (): Promise<'stopped' | 'gone'> => {
    let backoff = 1000;
    let failing = false;
    if (options.delayFirst) await sleep(interval, undefined, { signal: options.signal }).catch(() => {});
    while (!options.signal.aborted) {
      try {
        if (!(await options.renew())) {
          options.log?.('lease: the sandbox is gone where its lease is kept; stopping');
          return 'gone';
        }
        last = new Date().toISOString();
        if (failing) options.log?.('lease: renewed again');
        failing = false;
        backoff = 1000;
        await sleep(interval, undefined, { signal: options.signal }).catch(() => {});
      } catch (error) {
        if (!failing) options.log?.(`lease: renewal failed (${messageOf(error)}); retrying`);
        failing = true;
        await sleep(Math.min(backoff, interval), undefined, { signal: options.signal }).catch(() => {});
        backoff *= 2;
      }
    }
    return 'stopped';
  })();
  return { done, lastRenewal: () => last };
}
