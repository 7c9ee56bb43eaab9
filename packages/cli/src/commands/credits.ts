import { accountOf, defaultHome, InputError } from '@sand-boxer/core';
import { type ContextOptions, openManager } from '../context.js';
import { formatTable, type OutputOptions, printJson, printLine } from '../output.js';

type Options = OutputOptions & ContextOptions;

/** `sandboxer credits balance [account]`: one account, or every account in the ledger. */
export async function balance(account: string | undefined, options: Options): Promise<void> {
  const { ledger } = openManager(options);
  const balances = account === undefined ? await ledger.accounts() : [await ledger.balance(account)];
  if (options.json) return printJson(account === undefined ? balances : balances[0]);
  if (balances.length === 0) return printLine(`no accounts yet in ${options.home ?? defaultHome()}`);
  printLine(
    formatTable(
      ['ACCOUNT', 'BALANCE', 'HELD', 'AVAILABLE'],
      balances.map((b) => [b.account, String(b.balance), String(b.held), String(b.available)]),
    ),
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
  const { ledger } = openManager(options);
  const entry = await ledger.grant(account, amount, options.note);
  const after = await ledger.balance(account);
  if (options.json) return printJson({ entry, balance: after });
  printLine(
    `granted ${amount} credits to "${account}": balance ${after.balance}, available ${after.available}`,
  );
}

/** `sandboxer credits history [account]`: the append-only history, oldest first. */
export async function history(account: string | undefined, options: Options): Promise<void> {
  const { ledger } = openManager(options);
  const entries = await ledger.history(account);
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

/** The account a consumer pays from, for `--consumer` on estimate/route. */
export function accountFor(options: { account?: string; consumer?: string }): string | undefined {
  return options.account ?? (options.consumer ? accountOf(options.consumer) : undefined);
}
