import {
  accountOf,
  defaultHome,
  didYouMean,
  formatBilling,
  InputError,
  NotFoundError,
  type SandboxService,
} from '@sand-boxer/core';
import { type ContextOptions, openService } from '../context.js';
import { formatTable, type OutputOptions, printJson, printLine } from '../output.js';

type Options = OutputOptions & ContextOptions;

/** `sandboxer credits balance [account]`: one account, or every account in the ledger. */
export async function balance(account: string | undefined, options: Options): Promise<void> {
  const { credits } = await openService(options);
  if (account !== undefined) await requireKnownAccount(credits, account);
  const balances = account === undefined ? await credits.accounts() : [await credits.balance(account)];
  if (options.json) return printJson(account === undefined ? balances : balances[0]);
  if (balances.length === 0)
    return printLine(
      `no accounts yet in ${options.server ?? options.state ?? options.home ?? defaultHome()}`,
    );
  printLine(
    formatTable(
      ['ACCOUNT', 'BALANCE', 'HELD', 'AVAILABLE'],
      balances.map((b) => [b.account, String(b.balance), String(b.held), String(b.available)]),
    ),
  );
}

/**
 * An account the ledger has never seen would show the initial credits it would start with: a
 * mistyped name must not look like a funded account. Refused (exit 3), with the closest known one.
 * A server that does not list accounts to this token (a member) answers for its own account only.
 */
async function requireKnownAccount(credits: SandboxService['credits'], account: string): Promise<void> {
  const known = await credits.accounts().catch(() => undefined);
  if (known === undefined || known.some((b) => b.account === account)) return;
  const names = known.map((b) => b.account);
  throw new NotFoundError(
    `no account "${account}" in the ledger yet${didYouMean(account, names)}; known: ${names.join(', ') || 'none'} (an account is opened by its first create, or by \`sandboxer credits grant\`)`,
    { account },
  );
}

/** `sandboxer credits grant <account> <amount>`. */
export async function grant(
  account: string,
  amountText: string,
  options: Options & { note?: string },
): Promise<void> {
  const amount = Number(amountText);
  if (!/^\d+(\.\d{1,2})?$/.test(amountText) || amount <= 0) {
    throw new InputError(
      `credits grant: <amount> must be a positive number with at most two decimals, got ${JSON.stringify(amountText)}`,
    );
  }
  const { credits } = await openService(options);
  const entry = await credits.grant(account, amount, options.note);
  const after = await credits.balance(account);
  if (options.json) return printJson({ entry, balance: after });
  printLine(
    `granted ${amount} credits to "${account}": balance ${after.balance}, available ${after.available}`,
  );
}

/** `sandboxer credits history [account]`: the append-only history, oldest first. */
export async function history(account: string | undefined, options: Options): Promise<void> {
  const { credits } = await openService(options);
  const entries = await credits.history(account);
  if (options.json) return printJson(entries);
  if (entries.length === 0) return printLine('no credit history yet');
  const sign = (kind: string) => (kind === 'debit' ? '-' : kind === 'grant' ? '+' : ' ');
  printLine(
    formatTable(
      ['TIME', 'ACCOUNT', 'KIND', 'CREDITS', 'SANDBOX', 'NOTE'],
      entries.map((e) => [
        e.at,
        e.account,
        e.kind,
        `${sign(e.kind)}${e.credits}`,
        e.sandbox ?? '-',
        e.note ?? '',
      ]),
    ),
  );
}

/**
 * `sandboxer credits export [--account A] [--since D] --format csv|jsonl`: the ledger for finance
 * tools, one row per entry (columns: docs/control-plane.md). Over `--server`: admins only.
 */
export interface ExportOptions extends Options {
  account?: string;
  since?: string;
  format: string;
}

export async function exportCredits(options: ExportOptions) {
  if (options.format !== 'csv' && options.format !== 'jsonl') {
    throw new InputError(`--format: expected csv or jsonl, got ${JSON.stringify(options.format)}`);
  }
  const { credits } = await openService(options);
  const rows = await credits.billing({
    ...(options.account ? { account: options.account } : {}),
    ...(options.since ? { since: options.since } : {}),
  });
  process.stdout.write(formatBilling(rows, options.format));
}

/** The account a consumer pays from, for `--consumer` on estimate/route. */
export function accountFor(options: { account?: string; consumer?: string }): string | undefined {
  return options.account ?? (options.consumer ? accountOf(options.consumer) : undefined);
}
