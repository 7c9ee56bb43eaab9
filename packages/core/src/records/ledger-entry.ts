import { z } from 'zod';

/** The most credits one entry may carry: far beyond any real grant, well inside exact cents. */
export const MAX_CREDITS = 1_000_000_000;
/** Account names (and consumers, from which they are derived) are short labels. */
export const MAX_ACCOUNT_LENGTH = 200;
/** A grant's note: a sentence, not a file (every line of the history is read on every balance). */
export const MAX_NOTE_LENGTH = 1000;

/**
 * One line of the append-only credits history. Amounts are credits with at most two decimals;
 * sums are done in whole cents so they stay exact.
 *  - grant: credits added to the account
 *  - hold: credits reserved for a sandbox being created (its estimate); expires at `expires_at`
 *  - release: a hold given back (the sandbox was destroyed, or never got made)
 *  - debit: what a destroyed sandbox actually cost (at most one per sandbox)
 */
export const ledgerEntrySchema = z.object({
  id: z.string(),
  at: z.iso.datetime(),
  account: z.string().min(1).max(MAX_ACCOUNT_LENGTH),
  kind: z.enum(['grant', 'hold', 'release', 'debit']),
  credits: z.number().nonnegative().max(MAX_CREDITS),
  sandbox: z.string().optional(),
  /** For a release: the hold it gives back. */
  hold: z.string().optional(),
  /** For a hold: after this it no longer reserves anything, so a crashed creator cannot lock credits for ever. */
  expires_at: z.iso.datetime().optional(),
  note: z.string().max(MAX_NOTE_LENGTH).optional(),
  breakdown: z.record(z.string(), z.number()).optional(),
});

export type LedgerEntry = z.infer<typeof ledgerEntrySchema>;

/** Credits to whole cents (half away from zero), the ledger's unit of exactness. */
export function toCents(credits: number): number {
  return Math.round(credits * 100);
}

export function fromCents(cents: number): number {
  return cents / 100;
}
