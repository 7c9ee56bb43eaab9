import { randomUUID } from 'node:crypto';
import { InputError, InsufficientCreditsError } from '../errors.js';
import {
  fromCents,
  type LedgerEntry,
  MAX_CREDITS,
  MAX_NOTE_LENGTH,
  toCents,
} from '../records/ledger-entry.js';
import type { StateStore } from '../state/store.js';
import { checkAccount } from './accounts.js';
import { type AccountBalance, summarize } from './balance.js';

export interface LedgerOptions {
  now?: () => Date;
  /**
   * Credits granted to an account the first time it is used, recorded as an ordinary `grant`
   * ("initial grant"), so a fresh machine can use the metered default at once. 0 turns it off.
   */
  initialCredits?: number;
}

/** A hold as its sandbox record knows it: the entry's id and the account it reserves from. */
export interface HoldRef {
  id: string;
  account: string;
}

/**
 * The credits ledger: an append-only history in the state store. Every check-and-append runs under
 * one lock, so concurrent creates can never overspend; debits are idempotent per sandbox.
 */
export class CreditsLedger {
  readonly #store: StateStore;
  readonly #now: () => Date;
  readonly #initialCredits: number;

  constructor(store: StateStore, options: LedgerOptions = {}) {
    this.#store = store;
    this.#now = options.now ?? (() => new Date());
    this.#initialCredits = options.initialCredits ?? 0;
  }

  async balance(account: string): Promise<AccountBalance> {
    return summarize(await this.#store.readLedger(account), account, this.#now(), this.#initialCredits);
  }

  /** Every account that appears in the history, with its balance. */
  async accounts(): Promise<AccountBalance[]> {
    const entries = await this.#store.readLedger();
    const names = [...new Set(entries.map((e) => e.account))].sort();
    return names.map((name) => summarize(entries, name, this.#now(), 0));
  }

  history(account?: string): Promise<LedgerEntry[]> {
    return this.#store.readLedger(account);
  }

  async grant(account: string, credits: number, note?: string): Promise<LedgerEntry> {
    checkAccount(account);
    const cents = toCents(credits);
    // At most two decimals, allowing for binary floating point (0.1 + 0.2 is 0.3).
    if (
      !Number.isFinite(credits) ||
      cents <= 0 ||
      credits > MAX_CREDITS ||
      Math.abs(credits * 100 - cents) > 1e-6 * Math.max(1, cents)
    ) {
      throw new InputError(
        `amount: expected a positive amount of at most ${MAX_CREDITS} credits with at most two decimals, got ${credits}`,
        { field: 'amount' },
      );
    }
    if (note !== undefined && note.length > MAX_NOTE_LENGTH) {
      throw new InputError(`note: at most ${MAX_NOTE_LENGTH} characters (got ${note.length})`, {
        field: 'note',
      });
    }
    return this.#store.ledgerTransaction(account, (entries) => {
      const entry = this.#entry({
        account,
        kind: 'grant',
        credits: fromCents(cents),
        ...(note ? { note } : {}),
      });
      return { append: [...this.#initialGrant(account, entries), entry], result: entry };
    });
  }

  /**
   * Reserves `credits` for a sandbox, or refuses with InsufficientCreditsError; `describe` words the
   * refusal (the caller knows the profile and its cheaper alternatives).
   */
  hold(
    account: string,
    credits: number,
    sandbox: string,
    expiresAt: Date,
    describe: (balance: AccountBalance) => string,
  ): Promise<LedgerEntry> {
    return this.#store.ledgerTransaction(account, (entries) => {
      const pending = this.#initialGrant(account, entries);
      const balance = summarize([...entries, ...pending], account, this.#now(), 0);
      if (toCents(balance.available) < toCents(credits)) {
        throw new InsufficientCreditsError(describe(balance), {
          account,
          balance: balance.balance,
          held: balance.held,
          available: balance.available,
          estimate: credits,
        });
      }
      const entry = this.#entry({
        account,
        kind: 'hold',
        credits,
        sandbox,
        expires_at: expiresAt.toISOString(),
      });
      return { append: [...pending, entry], result: entry };
    });
  }

  /**
   * Swaps a sandbox's hold for a new one of `credits` (e.g. when its TTL is extended), atomically:
   * the old hold counts as available for the new one; if the new one does not fit, nothing changes.
   */
  replaceHold(
    old: HoldRef,
    credits: number,
    expiresAt: Date,
    describe: (balance: AccountBalance) => string,
  ): Promise<LedgerEntry> {
    return this.#store.ledgerTransaction(old.account, (entries) => {
      const held = entries.find((e) => e.id === old.id && e.kind === 'hold');
      if (!held) throw new InputError(`no hold ${old.id} of account "${old.account}" in the ledger`);
      const balance = summarize(entries, old.account, this.#now(), 0);
      const stillHeld = balance.holds.some((h) => h.id === old.id) ? toCents(held.credits) : 0;
      if (toCents(balance.available) + stillHeld < toCents(credits)) {
        throw new InsufficientCreditsError(describe(balance), {
          account: old.account,
          balance: balance.balance,
          held: balance.held,
          available: balance.available,
          estimate: credits,
        });
      }
      const hold = this.#entry({
        account: old.account,
        kind: 'hold',
        credits,
        ...(held.sandbox ? { sandbox: held.sandbox } : {}),
        expires_at: expiresAt.toISOString(),
      });
      const release = this.#entry({
        account: old.account,
        kind: 'release',
        credits: held.credits,
        hold: held.id,
        ...(held.sandbox ? { sandbox: held.sandbox } : {}),
        note: 'replaced (TTL extended)',
      });
      return { append: [release, hold], result: hold };
    });
  }

  /** Holds never released (expired ones too): what `gc` checks against the sandboxes they were for. */
  async unreleasedHolds(): Promise<LedgerEntry[]> {
    const entries = await this.#store.readLedger();
    const released = new Set(entries.filter((e) => e.kind === 'release').map((e) => e.hold));
    return entries.filter((e) => e.kind === 'hold' && !released.has(e.id));
  }

  /** Gives a hold back; releasing twice (or a hold that does not exist) does nothing. */
  async release(hold: HoldRef, note?: string): Promise<void> {
    await this.#store.ledgerTransaction(hold.account, (entries) => {
      const held = entries.find((e) => e.id === hold.id && e.kind === 'hold');
      if (!held || entries.some((e) => e.kind === 'release' && e.hold === hold.id)) {
        return { append: [], result: undefined };
      }
      const release = this.#entry({
        account: held.account,
        kind: 'release',
        credits: held.credits,
        hold: held.id,
        ...(held.sandbox ? { sandbox: held.sandbox } : {}),
        ...(note ? { note } : {}),
      });
      return { append: [release], result: undefined };
    });
  }

  /**
   * Charges what a sandbox cost and releases its hold, once: a second call for the same sandbox
   * (destroy twice, a retry after a crash) returns the first debit and charges nothing.
   */
  settle(
    account: string,
    sandbox: string,
    credits: number,
    holdId: string | undefined,
    breakdown: Record<string, number> = {},
  ): Promise<LedgerEntry> {
    return this.#store.ledgerTransaction(account, (entries) => {
      const existing = entries.find((e) => e.kind === 'debit' && e.sandbox === sandbox);
      if (existing) return { append: [], result: existing };
      const initial = this.#initialGrant(account, entries);
      const hold = holdId ? entries.find((e) => e.id === holdId && e.kind === 'hold') : undefined;
      // Never more than the hold reserved (a sandbox that outlived its TTL is not billed past it),
      // nor than the balance has: a balance never goes below zero by our own doing.
      const balance = toCents(summarize([...entries, ...initial], account, this.#now(), 0).balance);
      const cap = Math.min(hold ? toCents(hold.credits) : Number.POSITIVE_INFINITY, Math.max(0, balance));
      const charged = Math.min(toCents(credits), cap);
      const waived = toCents(credits) - charged;
      const debit = this.#entry({
        account,
        kind: 'debit',
        credits: fromCents(charged),
        sandbox,
        breakdown: waived > 0 ? { ...breakdown, waived: fromCents(waived) } : breakdown,
      });
      const released = entries.some((e) => e.kind === 'release' && e.hold === holdId);
      const release =
        hold && !released
          ? [
              this.#entry({
                account: hold.account,
                kind: 'release',
                credits: hold.credits,
                hold: hold.id,
                sandbox,
              }),
            ]
          : [];
      // Release first, then debit: replayed line by line, `available` never dips below zero.
      return { append: [...initial, ...release, debit], result: debit };
    });
  }

  /** The initial grant for an account never seen before (to append in the same transaction). */
  #initialGrant(account: string, entries: LedgerEntry[]): LedgerEntry[] {
    if (this.#initialCredits <= 0 || entries.length > 0) return [];
    return [this.#entry({ account, kind: 'grant', credits: this.#initialCredits, note: 'initial grant' })];
  }

  #entry(fields: Omit<LedgerEntry, 'id' | 'at'>): LedgerEntry {
    return { id: randomUUID(), at: this.#now().toISOString(), ...fields };
  }
}
