import { fromCents, type LedgerEntry, toCents } from '../records/ledger-entry.js';

/** Where an account stands: balance = grants − debits; available = balance − live holds. */
export interface AccountBalance {
  account: string;
  balance: number;
  held: number;
  available: number;
  /** Holds still reserving credits (not released, not expired). */
  holds: LedgerEntry[];
}

/** Sums one account's history in whole cents. */
export function summarize(
  entries: LedgerEntry[],
  account: string,
  now: Date,
  initialCredits: number,
): AccountBalance {
  const mine = entries.filter((e) => e.account === account);
  const releasedHolds = new Set(mine.filter((e) => e.kind === 'release').map((e) => e.hold));
  let balance = mine.length === 0 ? toCents(initialCredits) : 0;
  const holds: LedgerEntry[] = [];
  for (const e of mine) {
    if (e.kind === 'grant') balance += toCents(e.credits);
    if (e.kind === 'debit') balance -= toCents(e.credits);
    if (
      e.kind === 'hold' &&
      !releasedHolds.has(e.id) &&
      (!e.expires_at || Date.parse(e.expires_at) > now.getTime())
    ) {
      holds.push(e);
    }
  }
  const held = holds.reduce((sum, h) => sum + toCents(h.credits), 0);
  return {
    account,
    balance: fromCents(balance),
    held: fromCents(held),
    available: fromCents(balance - held),
    holds,
  };
}
