import { InputError } from '../errors.js';
import type { LedgerEntry } from '../records/ledger-entry.js';
import type { SandboxRecord } from '../records/sandbox.js';
import type { SnapshotRecord } from '../records/snapshot.js';
import { parseDurationSeconds } from '../util/duration.js';

/**
 * The ledger for finance tools: one row per ledger entry, with what it was for (the sandbox's
 * profile, consumer, start and end; a snapshot's for storage debits). The columns are stable: new
 * ones are only ever added at the end (docs/control-plane.md lists them).
 */
export const BILLING_COLUMNS = [
  'entry_id',
  'at',
  'account',
  'kind',
  'credits',
  'sandbox',
  'profile',
  'consumer',
  'started_at',
  'ended_at',
  'hold',
  'note',
] as const;

export type BillingRow = Record<(typeof BILLING_COLUMNS)[number], string | number | null>;
export type BillingFormat = 'csv' | 'jsonl';

export interface BillingQuery {
  account?: string;
  /** Entries at or after this: a duration back from now (`30d`) or a timestamp. */
  since?: string;
  now?: Date;
}

/** The cut-off `since` names, or an InputError naming the field. */
export function sinceDate(since: string, now: Date): Date {
  const seconds = parseDurationSeconds(since);
  if (seconds !== undefined) return new Date(now.getTime() - seconds * 1000);
  const at = Date.parse(since);
  if (!/^\d{4}-\d{2}-\d{2}/.test(since) || Number.isNaN(at)) {
    throw new InputError(
      `since: expected a duration such as 30d or a date such as 2026-12-01, got ${JSON.stringify(since)}`,
      {
        field: 'since',
      },
    );
  }
  return new Date(at);
}

export function billingRows(
  entries: LedgerEntry[],
  sandboxes: SandboxRecord[],
  snapshots: SnapshotRecord[],
  query: BillingQuery = {},
): BillingRow[] {
  const cutoff = query.since ? sinceDate(query.since, query.now ?? new Date()).getTime() : undefined;
  const bySandbox = new Map(sandboxes.map((s) => [s.id, s]));
  const bySnapshot = new Map(snapshots.map((s) => [s.id, s]));
  return entries
    .filter((e) => query.account === undefined || e.account === query.account)
    .filter((e) => cutoff === undefined || Date.parse(e.at) >= cutoff)
    .map((e) => {
      const sandbox = e.sandbox ? bySandbox.get(e.sandbox) : undefined;
      const snapshot = e.sandbox ? bySnapshot.get(e.sandbox) : undefined;
      return {
        entry_id: e.id,
        at: e.at,
        account: e.account,
        kind: e.kind,
        credits: e.credits,
        sandbox: e.sandbox ?? null,
        profile: sandbox?.profile ?? snapshot?.profile ?? null,
        consumer: sandbox?.consumer ?? null,
        started_at: sandbox?.created_at ?? snapshot?.created_at ?? null,
        ended_at: sandbox?.destroyed_at ?? null,
        hold: e.hold ?? null,
        note: e.note ?? null,
      };
    });
}

/** CSV (RFC 4180, a header line, CRLF) or JSON lines. */
export function formatBilling(rows: BillingRow[], format: BillingFormat): string {
  if (format === 'jsonl') return rows.map((r) => `${JSON.stringify(r)}\n`).join('');
  const cell = (value: string | number | null) => {
    const text = value === null ? '' : String(value);
    return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
  };
  return [BILLING_COLUMNS.join(','), ...rows.map((r) => BILLING_COLUMNS.map((c) => cell(r[c])).join(','))]
    .map((line) => `${line}\r\n`)
    .join('');
}
