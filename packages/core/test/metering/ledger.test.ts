import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { InputError, InsufficientCreditsError, StateCorruptError } from '../../src/errors.js';
import { accountOf } from '../../src/metering/accounts.js';
import type { AccountBalance } from '../../src/metering/balance.js';
import { CreditsLedger, type LedgerOptions } from '../../src/metering/ledger.js';
import { type LedgerEntry, toCents } from '../../src/records/ledger-entry.js';
import { FileStateStore } from '../../src/state/file-store.js';
import { tempDir } from '../support/fixtures.js';

/** A ledger over a real file store in a fresh temporary home. */
function newLedger(options: LedgerOptions = {}) {
  const home = tempDir('sbx-ledger-');
  const store = new FileStateStore(home);
  return { home, store, ledger: new CreditsLedger(store, options) };
}

/** Holds in these tests outlive the test unless a test says otherwise. */
const LATER = new Date('2999-01-01T00:00:00Z');
const refusal = (b: AccountBalance) => `refused: available ${b.available}, held ${b.held}`;

/**
 * An independent replay of one account's history, in cents: balance = grants − debits, and what is
 * available after every entry (live holds are those neither released nor expired at `at`).
 */
function replay(entries: LedgerEntry[], account: string, at = Date.now()) {
  let balance = 0;
  const live = new Map<string, number>();
  const held = () => [...live.values()].reduce((a, b) => a + b, 0);
  const available: number[] = [];
  for (const e of entries.filter((x) => x.account === account)) {
    if (e.kind === 'grant') balance += toCents(e.credits);
    if (e.kind === 'debit') balance -= toCents(e.credits);
    if (e.kind === 'hold' && (!e.expires_at || Date.parse(e.expires_at) > at))
      live.set(e.id, toCents(e.credits));
    if (e.kind === 'release' && e.hold) live.delete(e.hold);
    available.push(balance - held());
  }
  return { balance, held: held(), available };
}

/** Checks the ledger's own summary against the replay of its history. */
async function expectHistoryMatches(ledger: CreditsLedger, account: string, at = Date.now()) {
  const sums = replay(await ledger.history(account), account, at);
  const balance = await ledger.balance(account);
  expect(toCents(balance.balance)).toBe(sums.balance);
  expect(toCents(balance.held)).toBe(sums.held);
  expect(toCents(balance.available)).toBe(sums.balance - sums.held);
  return sums;
}

describe('accountOf', () => {
  test.each([
    ['owner/repo#4242.1/e2e', 'owner/repo'],
    ['owner/repo#1', 'owner/repo'],
    ['owner/repo', 'owner/repo'],
    ['alice@laptop', 'alice@laptop'],
    ['#x', '#x'],
    ['  team/app  #7', 'team/app'],
  ])('%j pays from %j', (consumer, account) => {
    expect(accountOf(consumer)).toBe(account);
  });
});

describe('grant', () => {
  const amount = (got: string) =>
    `amount: expected a positive amount of at most 1000000000 credits with at most two decimals, got ${got}`;
  const account = (got: string) =>
    `account: expected a name of 1 to 200 printable characters, got ${JSON.stringify(got)}`;
  test.each([
    ['acct', 0, amount('0')],
    ['acct', -5, amount('-5')],
    ['acct', 1.005, amount('1.005')],
    ['acct', 0.001, amount('0.001')],
    ['acct', Number.NaN, amount('NaN')],
    ['acct', Number.POSITIVE_INFINITY, amount('Infinity')],
    ['acct', 1e9 + 0.01, amount('1000000000.01')],
    ['acct', 1e308, amount('1e+308')],
    ['', 10, account('')],
    ['   ', 10, account('   ')],
    ['a'.repeat(201), 10, `${account('a'.repeat(40))}…`],
    ['tab\there', 10, account('tab\there')],
  ])('refuses account %j, amount %s', async (account, credits, message) => {
    const { ledger } = newLedger();
    const error = await ledger.grant(account, credits).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InputError);
    expect((error as Error).message).toBe(message);
    expect(await ledger.history()).toEqual([]);
  });

  test.each([0.01, 0.29, 19.99, 1, 250, 1_000_000.01])('accepts %s', async (credits) => {
    const { ledger } = newLedger();
    const entry = await ledger.grant('acct', credits, 'top-up');
    expect(entry).toMatchObject({ account: 'acct', kind: 'grant', credits, note: 'top-up' });
    expect((await ledger.balance('acct')).balance).toBe(credits);
  });
});

describe('balance arithmetic in whole cents', () => {
  test.each([
    { grants: [0.1, 0.2], holds: [], debits: [], balance: 0.3, held: 0, available: 0.3 },
    { grants: Array(10).fill(0.1), holds: [], debits: [], balance: 1, held: 0, available: 1 },
    { grants: [1], holds: [], debits: [0.7], balance: 0.3, held: 0, available: 0.3 },
    { grants: [0.1, 0.2], holds: [0.1], debits: [], balance: 0.3, held: 0.1, available: 0.2 },
    { grants: [0.7, 0.1], holds: [0.3, 0.3], debits: [0.2], balance: 0.6, held: 0.6, available: 0 },
  ])('grants $grants, holds $holds, debits $debits', async ({ grants, holds, debits, ...expected }) => {
    const { ledger } = newLedger();
    for (const credits of grants) await ledger.grant('acct', credits);
    for (const [i, credits] of holds.entries()) await ledger.hold('acct', credits, `h${i}`, LATER, refusal);
    for (const [i, credits] of debits.entries()) await ledger.settle('acct', `d${i}`, credits, undefined);
    // toBe, not toBeCloseTo: sums in cents give the exact decimal back.
    expect(await ledger.balance('acct')).toMatchObject({ account: 'acct', ...expected });
    await expectHistoryMatches(ledger, 'acct');
  });
});

describe('hold', () => {
  test('is refused with InsufficientCreditsError when available < estimate, and writes nothing', async () => {
    const { ledger } = newLedger();
    await ledger.grant('acct', 10);
    await ledger.hold('acct', 4, 'first', LATER, refusal);
    const before = await ledger.history();
    const seen: AccountBalance[] = [];
    const error = await ledger
      .hold('acct', 6.01, 'second', LATER, (b) => {
        seen.push(b);
        return refusal(b);
      })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InsufficientCreditsError);
    expect(error).toMatchObject({
      code: 'INSUFFICIENT_CREDITS',
      message: 'refused: available 6, held 4',
      details: { account: 'acct', balance: 10, held: 4, available: 6, estimate: 6.01 },
    });
    expect(seen).toMatchObject([{ account: 'acct', balance: 10, held: 4, available: 6 }]);
    expect(await ledger.history()).toEqual(before);
  });

  test('is admitted when the estimate equals what is available', async () => {
    const { ledger } = newLedger();
    await ledger.grant('acct', 0.3);
    const hold = await ledger.hold('acct', 0.3, 'sbx', LATER, refusal);
    expect(hold).toMatchObject({ account: 'acct', kind: 'hold', credits: 0.3, sandbox: 'sbx' });
    expect(hold.expires_at).toBe(LATER.toISOString());
    expect(await ledger.balance('acct')).toMatchObject({ balance: 0.3, held: 0.3, available: 0 });
    await expect(ledger.hold('acct', 0.01, 'more', LATER, refusal)).rejects.toThrow(InsufficientCreditsError);
  });

  test('an expired hold no longer reserves credits', async () => {
    let clock = new Date('2030-01-01T00:00:00Z');
    const { ledger } = newLedger({ now: () => clock });
    await ledger.grant('acct', 5);
    const hold = await ledger.hold('acct', 5, 'crashed', new Date(clock.getTime() + 60_000), refusal);
    expect(await ledger.balance('acct')).toMatchObject({ held: 5, available: 0, holds: [hold] });
    await expect(ledger.hold('acct', 1, 'blocked', LATER, refusal)).rejects.toThrow(InsufficientCreditsError);

    clock = new Date(clock.getTime() + 60_000); // expiry is exclusive: at expires_at it is gone
    expect(await ledger.balance('acct')).toMatchObject({ balance: 5, held: 0, available: 5, holds: [] });
    await ledger.hold('acct', 5, 'next', LATER, refusal);
    expect((await ledger.balance('acct')).available).toBe(0);
  });
});

describe('release', () => {
  test('gives the hold back once; releasing again or an unknown hold does nothing', async () => {
    const { ledger } = newLedger();
    await ledger.grant('acct', 3);
    const hold = await ledger.hold('acct', 2, 'sbx', LATER, refusal);
    await ledger.release(hold, 'rolled back');
    await ledger.release(hold, 'again');
    await ledger.release({ id: 'no-such-hold', account: 'acct' });
    const releases = (await ledger.history()).filter((e) => e.kind === 'release');
    expect(releases).toMatchObject([{ hold: hold.id, credits: 2, sandbox: 'sbx', note: 'rolled back' }]);
    expect(await ledger.balance('acct')).toMatchObject({ balance: 3, held: 0, available: 3 });
  });
});

describe('settle', () => {
  test('debits once per sandbox and releases the hold once', async () => {
    const { ledger } = newLedger();
    await ledger.grant('acct', 10);
    const hold = await ledger.hold('acct', 4, 'sbx', LATER, refusal);
    const first = await ledger.settle('acct', 'sbx', 2.5, hold.id, { compute: 2.5 });
    expect(first).toMatchObject({ kind: 'debit', credits: 2.5, sandbox: 'sbx', breakdown: { compute: 2.5 } });
    const afterFirst = await ledger.history();

    const second = await ledger.settle('acct', 'sbx', 9, hold.id);
    expect(second).toEqual(first);
    await ledger.release(hold);
    expect(await ledger.history()).toEqual(afterFirst);
    expect(afterFirst.filter((e) => e.kind === 'release' && e.hold === hold.id)).toHaveLength(1);
    expect(await ledger.balance('acct')).toMatchObject({ balance: 7.5, held: 0, available: 7.5 });
  });

  test('does not release a hold that was already released', async () => {
    const { ledger } = newLedger();
    await ledger.grant('acct', 10);
    const hold = await ledger.hold('acct', 4, 'sbx', LATER, refusal);
    await ledger.release(hold);
    await ledger.settle('acct', 'sbx', 1, hold.id);
    const history = await ledger.history();
    expect(history.filter((e) => e.kind === 'release')).toHaveLength(1);
    expect(await ledger.balance('acct')).toMatchObject({ balance: 9, held: 0 });
  });
});

describe('initialCredits', () => {
  test('an unseen account shows them at once but writes nothing until it is used', async () => {
    const { ledger } = newLedger({ initialCredits: 100 });
    expect(await ledger.balance('new')).toMatchObject({ balance: 100, held: 0, available: 100 });
    expect(await ledger.history()).toEqual([]);
  });

  test.each([
    ['grant', (l: CreditsLedger) => l.grant('new', 5)],
    ['hold', (l: CreditsLedger) => l.hold('new', 5, 'sbx', LATER, refusal)],
  ] as const)('the first %s appends one "initial grant", later ones none', async (_name, use) => {
    const { ledger } = newLedger({ initialCredits: 100 });
    await use(ledger);
    await use(ledger);
    const initial = (await ledger.history('new')).filter((e) => e.note === 'initial grant');
    expect(initial).toMatchObject([{ kind: 'grant', credits: 100, account: 'new' }]);
    await expectHistoryMatches(ledger, 'new');
  });

  test('10 parallel holds on a new account record exactly one initial grant', async () => {
    const { ledger } = newLedger({ initialCredits: 100 });
    const holds = await Promise.all(
      Array.from({ length: 10 }, (_, i) => ledger.hold('new', 3, `sbx-${i}`, LATER, refusal)),
    );
    expect(holds).toHaveLength(10);
    const history = await ledger.history('new');
    expect(history.filter((e) => e.kind === 'grant')).toMatchObject([
      { credits: 100, note: 'initial grant' },
    ]);
    expect(await ledger.balance('new')).toMatchObject({ balance: 100, held: 30, available: 70 });
  });

  test('0 turns it off', async () => {
    const { ledger } = newLedger({ initialCredits: 0 });
    expect((await ledger.balance('new')).balance).toBe(0);
    await ledger.grant('new', 1);
    expect(await ledger.history('new')).toMatchObject([{ kind: 'grant', credits: 1 }]);
  });
});

describe('ledger.jsonl', () => {
  test('a torn last line is ignored, and the next append cuts it off and reads back', async () => {
    const { ledger, home } = newLedger();
    const file = join(home, 'ledger.jsonl');
    await ledger.grant('acct', 2);
    appendFileSync(file, '{"id":"torn","at":"2030-01-01T00:00:00.000Z","account":"acct","kind":"gra');
    expect(await ledger.history()).toHaveLength(1);
    expect((await ledger.balance('acct')).balance).toBe(2);

    await ledger.grant('acct', 3);
    const lines = readFileSync(file, 'utf8').split('\n');
    expect(lines).toHaveLength(3);
    expect(lines.at(-1)).toBe('');
    expect(readFileSync(file, 'utf8')).not.toContain('"torn"');
    expect((await new CreditsLedger(new FileStateStore(home)).history()).map((e) => e.credits)).toEqual([
      2, 3,
    ]);
    expect((await ledger.balance('acct')).balance).toBe(5);
  });
});

describe('concurrency', () => {
  test('40 parallel holds against exactly 20 × estimate: 20 succeed, nothing overspent', async () => {
    const { ledger } = newLedger();
    await ledger.grant('acct', 10);
    await ledger.settle('acct', 'earlier', 2.65, undefined); // leaves 7.35 = 21 × 0.35
    await ledger.hold('acct', 0.35, 'other', LATER, refusal); // leaves 7.00 = 20 × 0.35
    const results = await Promise.allSettled(
      Array.from({ length: 40 }, (_, i) => ledger.hold('acct', 0.35, `sbx-${i}`, LATER, refusal)),
    );
    const ok = results.filter((r) => r.status === 'fulfilled');
    const refused = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(ok).toHaveLength(20);
    expect(refused).toHaveLength(20);
    for (const r of refused) expect(r.reason).toBeInstanceOf(InsufficientCreditsError);

    const sums = await expectHistoryMatches(ledger, 'acct');
    expect(Math.min(...sums.available)).toBeGreaterThanOrEqual(0);
    expect(await ledger.balance('acct')).toMatchObject({ balance: 7.35, held: 7.35, available: 0 });
  }, 60_000);
});

describe('history sums to balance', () => {
  test('after a mix of grants, holds, releases, settles and expiries', async () => {
    let clock = new Date('2030-01-01T00:00:00Z');
    const { ledger } = newLedger({ now: () => clock, initialCredits: 12.34 });
    const soon = new Date(clock.getTime() + 30_000);
    await ledger.grant('a', 0.1);
    await ledger.grant('a', 0.2);
    const h1 = await ledger.hold('a', 5.55, 's1', LATER, refusal);
    const h2 = await ledger.hold('a', 1.11, 's2', LATER, refusal);
    await ledger.hold('a', 0.99, 's3', soon, refusal);
    await ledger.hold('b', 7.77, 'sb', LATER, refusal);
    await ledger.settle('a', 's1', 3.33, h1.id);
    await ledger.release(h2);
    await ledger.settle('a', 's1', 3.33, h1.id);
    await ledger.settle('a', 's2', 0.07, h2.id);
    clock = new Date(clock.getTime() + 60_000);

    const a = await expectHistoryMatches(ledger, 'a', clock.getTime());
    const b = await expectHistoryMatches(ledger, 'b', clock.getTime());
    expect(a.balance).toBe(toCents(12.34 + 0.3 - 3.33 - 0.07));
    expect(await ledger.balance('a')).toMatchObject({ balance: 9.24, held: 0, available: 9.24 });
    expect(b).toMatchObject({ balance: 1234, held: 777 });
    expect((await ledger.accounts()).map((x) => [x.account, x.balance, x.held])).toEqual([
      ['a', 9.24, 0],
      ['b', 12.34, 7.77],
    ]);
  });
});

describe('regressions from review', () => {
  test('settling on an account never seen here gives it its initial grant first, so it does not go negative', async () => {
    const { ledger } = newLedger({ initialCredits: 100 });
    await ledger.settle('new', 'abcdefghijkl', 2, undefined);
    expect(await ledger.balance('new')).toMatchObject({ balance: 98, held: 0, available: 98 });
    expect((await ledger.history('new')).map((e) => [e.kind, e.credits, e.note])).toEqual([
      ['grant', 100, 'initial grant'],
      ['debit', 2, undefined],
    ]);
  });

  test.each([
    [0.1 + 0.2, 0.3],
    [134_481_997.67, 134_481_997.67],
    [1e9 - 0.01, 1e9 - 0.01],
  ])('grant %d is stored rounded to cents as %d', async (given, stored) => {
    const { ledger } = newLedger();
    expect((await ledger.grant('big', given)).credits).toBe(stored);
  });
});

describe('a ledger that cannot be trusted is refused, not summed without the bad line', () => {
  test.each([
    [
      'a hold whose credits became a string',
      (line: string) => line.replace(/"credits":\d+/, '"credits":"5"'),
    ],
    ['a line that is not JSON', () => 'not json at all'],
    ['a debit of a negative amount', (line: string) => line.replace(/"credits":\d+/, '"credits":-5')],
  ])('%s: STATE_CORRUPT naming the file and the line', async (_what, corrupt) => {
    const { ledger, home } = newLedger();
    const file = join(home, 'ledger.jsonl');
    await ledger.grant('acct', 10);
    await ledger.hold('acct', 5, 'sbx', LATER, refusal);
    await ledger.grant('acct', 1);
    const lines = readFileSync(file, 'utf8').split('\n');
    lines[1] = corrupt(lines[1] as string);
    writeFileSync(file, lines.join('\n'));
    const error = await ledger.balance('acct').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StateCorruptError);
    expect((error as Error).message).toMatch(new RegExp(`^${file}: line 2 is not a valid ledger entry`));
    expect((error as StateCorruptError).details).toEqual({ file, line: 2 });
  });
});

describe('charges never take a balance below zero', () => {
  test('a debit is capped at its hold: a sandbox that outlived its TTL pays for its TTL', async () => {
    const { ledger } = newLedger();
    await ledger.grant('acct', 0.5);
    const hold = await ledger.hold('acct', 0.5, 'sbx', LATER, refusal);
    const debit = await ledger.settle('acct', 'sbx', 1, hold.id, { compute: 1 });
    expect(debit).toMatchObject({ credits: 0.5, breakdown: { compute: 1, waived: 0.5 } });
    expect(await ledger.balance('acct')).toMatchObject({ balance: 0, held: 0, available: 0 });
  });

  test('without a live hold, a debit is capped at the balance', async () => {
    const { ledger } = newLedger();
    await ledger.grant('acct', 0.3);
    const debit = await ledger.settle('acct', 'snap', 2, undefined);
    expect(debit).toMatchObject({ credits: 0.3, breakdown: { waived: 1.7 } });
    expect((await ledger.balance('acct')).balance).toBe(0);
  });
});
