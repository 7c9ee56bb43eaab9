import { sandboxerAsync } from './cli.js';

/**
 * Does the credits ledger of one state directory balance, after the dust of a fault has settled?
 * Read through the CLI, as a user would: `credits balance`, `credits history`, `list --all`.
 *  - nothing is held: every hold was released or settled (`held` 0, and each hold has its release);
 *  - no sandbox is live (the caller destroyed or collected them all);
 *  - each debit belongs to a destroyed sandbox that became ready, at most one per sandbox, and equals
 *    the cost on its record; nothing that never became ready was charged;
 *  - each account's balance is its grants less its debits.
 * Returns the problems found (none when it balances) and the totals, for the report.
 */
export interface LedgerCheck {
  problems: string[];
  held: number;
  debited: number;
  holds: number;
}

interface Entry {
  id: string;
  kind: 'grant' | 'hold' | 'release' | 'debit';
  account: string;
  credits: number;
  sandbox?: string;
  hold?: string;
}

const cents = (credits: number) => Math.round(credits * 100);

export async function checkLedger(env: Record<string, string>): Promise<LedgerCheck> {
  const read = async (args: string[]) => {
    const run = await sandboxerAsync([...args, '--json'], env);
    if (run.code !== 0) throw new Error(`sandboxer ${args.join(' ')} failed (${run.code}): ${run.stderr}`);
    return run.json;
  };
  // Read-only, so the three run at once.
  const [balances, entries, records] = (await Promise.all([
    read(['credits', 'balance']),
    read(['credits', 'history']),
    read(['list', '--all']),
  ])) as [
    Array<{ account: string; balance: number; held: number }>,
    Entry[],
    Array<{
      id: string;
      state: string;
      ready_at?: string;
      cost?: { credits: number };
    }>,
  ];
  const problems: string[] = [];
  const byId = new Map(records.map((r) => [r.id, r]));
  for (const r of records) {
    if (['provisioning', 'ready', 'destroying'].includes(r.state))
      problems.push(`sandbox ${r.id} is still ${r.state}`);
  }
  for (const b of balances) {
    if (b.held !== 0) problems.push(`account "${b.account}" still holds ${b.held} credits`);
    const mine = entries.filter((e) => e.account === b.account);
    const expected =
      mine.filter((e) => e.kind === 'grant').reduce((s, e) => s + cents(e.credits), 0) -
      mine.filter((e) => e.kind === 'debit').reduce((s, e) => s + cents(e.credits), 0);
    if (expected !== cents(b.balance)) {
      problems.push(
        `account "${b.account}": balance ${b.balance}, but grants less debits is ${expected / 100}`,
      );
    }
  }
  const released = new Set(entries.filter((e) => e.kind === 'release').map((e) => e.hold));
  const holds = entries.filter((e) => e.kind === 'hold');
  for (const h of holds) {
    if (!released.has(h.id)) problems.push(`hold ${h.id} of sandbox ${h.sandbox ?? '-'} was never released`);
  }
  const debits = entries.filter((e) => e.kind === 'debit');
  const debitedSandboxes = new Set<string>();
  for (const d of debits) {
    const record = d.sandbox ? byId.get(d.sandbox) : undefined;
    if (!record) problems.push(`debit ${d.id} has no sandbox record (${d.sandbox ?? '-'})`);
    else if (record.state !== 'destroyed' || !record.ready_at) {
      problems.push(
        `sandbox ${record.id} was charged but is ${record.state}${record.ready_at ? '' : ', never ready'}`,
      );
    } else if (cents(record.cost?.credits ?? -1) !== cents(d.credits)) {
      problems.push(`sandbox ${record.id} was charged ${d.credits}, its record says ${record.cost?.credits}`);
    }
    if (d.sandbox && debitedSandboxes.has(d.sandbox)) problems.push(`sandbox ${d.sandbox} was charged twice`);
    if (d.sandbox) debitedSandboxes.add(d.sandbox);
  }
  return {
    problems,
    held: balances.reduce((s, b) => s + b.held, 0),
    debited: debits.reduce((s, d) => s + cents(d.credits), 0) / 100,
    holds: holds.length,
  };
}
