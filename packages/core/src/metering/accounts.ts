import { InputError } from '../errors.js';
import { MAX_ACCOUNT_LENGTH } from '../records/ledger-entry.js';

/** Who pays: account names, and which account a consumer's sandboxes are charged to. */

/** An account name: non-empty, short, printable (it is shown in tables and stored in every entry). */
export function checkAccount(account: string, field = 'account'): void {
  const control = [...account].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f);
  if (!account.trim() || account.length > MAX_ACCOUNT_LENGTH || control) {
    throw new InputError(
      `${field}: expected a name of 1 to ${MAX_ACCOUNT_LENGTH} printable characters, got ${JSON.stringify(account.slice(0, 40))}${account.length > 40 ? '…' : ''}`,
      { field },
    );
  }
}

/**
 * The consumer → account mapping: everything before the first `#` (so every run of
 * `owner/repo#run.attempt/job` pays from `owner/repo`), else the whole consumer (`alice@laptop`).
 */
export function accountOf(consumer: string): string {
  const account = consumer.split('#')[0]?.trim();
  return account || consumer;
}
