import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import { CLI, sandboxer, sandboxerAsync } from './support/cli.js';
import { projectResources } from './support/docker.js';
import { loadTestbed, type Testbed } from './support/testbed.js';

/**
 * Credits and routing through the real CLI: holds on create, debits on destroy, refusals, the burst
 * fallback to the real self-hosted testbed, and 50 concurrent creates against a budget for 20.
 */

const sampleRepo = join(import.meta.dirname, '..', 'fixtures', 'sample-repo');
const composeRepo = join(import.meta.dirname, '..', 'fixtures', 'compose-http');
let testbed: Testbed;

beforeAll(() => {
  testbed = loadTestbed();
});

/** A fresh state directory whose accounts start empty, so every credit is granted by the test. */
function freshEnv(): Record<string, string> {
  return { SANDBOXER_HOME: mkdtempSync(join(tmpdir(), 'sbx-pay-')), SANDBOXER_INITIAL_CREDITS: '0' };
}

interface Entry {
  kind: string;
  credits: number;
  account: string;
  sandbox?: string;
  hold?: string;
}

/** Replays a history in cents; returns the final balance and the lowest `available` ever reached. */
function replay(entries: Entry[]): { balance: number; lowestAvailable: number } {
  let balance = 0;
  let held = 0;
  let lowest = 0;
  const holds = new Map<string, number>();
  for (const e of entries as Array<Entry & { id: string }>) {
    const cents = Math.round(e.credits * 100);
    if (e.kind === 'grant') balance += cents;
    if (e.kind === 'debit') balance -= cents;
    if (e.kind === 'hold') {
      held += cents;
      holds.set(e.id, cents);
    }
    if (e.kind === 'release') held -= holds.get(e.hold as string) ?? 0;
    lowest = Math.min(lowest, balance - held);
  }
  return { balance: balance / 100, lowestAvailable: lowest / 100 };
}

describe('credits on the metered backend', () => {
  test('grant → create holds the estimate → destroy debits rate × started minutes and releases the hold', async () => {
    const env = freshEnv();
    expect(sandboxer(['credits', 'grant', 'team-a', '100', '--json'], env).json.balance).toMatchObject({
      balance: 100,
      available: 100,
    });
    const created = sandboxer(
      ['create', '-p', 'saas-stub', '-i', `repo=${sampleRepo}`, '--account', 'team-a', '--json'],
      env,
    );
    expect(created.code, created.stderr).toBe(0);
    expect(created.json).toMatchObject({
      account: 'team-a',
      estimate: { credits: 15, rate: 0.5, unit: 'minute' },
    });
    expect(sandboxer(['credits', 'balance', 'team-a', '--json'], env).json).toMatchObject({
      balance: 100,
      held: 15,
      available: 85,
    });

    await new Promise((r) => setTimeout(r, 1500));
    const destroyed = sandboxer(['destroy', created.json.id, '--json', '-v'], env);
    expect(destroyed.code, destroyed.stderr).toBe(0);
    // 1.5 s is one started minute: 1 × 0.5 credits (docs/payments.md: per started minute, minimum 1, cents).
    expect(destroyed.json.cost.credits).toBe(0.5);
    expect(destroyed.json.cost.duration).toBeGreaterThanOrEqual(1.5);
    expect(destroyed.stderr).toContain('debited 0.5 credits from "team-a"');
    expect(sandboxer(['credits', 'balance', 'team-a', '--json'], env).json).toMatchObject({
      balance: 99.5,
      held: 0,
      available: 99.5,
    });
    const history = sandboxer(['credits', 'history', 'team-a', '--json'], env).json as Entry[];
    expect(history.map((e) => [e.kind, e.credits])).toEqual([
      ['grant', 100],
      ['hold', 15],
      ['release', 15],
      ['debit', 0.5],
    ]);

    // Destroying again charges nothing more.
    expect(sandboxer(['destroy', created.json.id], env).code).toBe(0);
    expect(sandboxer(['credits', 'history', 'team-a', '--json'], env).json).toHaveLength(4);
    expect(sandboxer(['credits', 'history', 'team-a'], env).stdout).toMatch(
      /team-a +debit +-0\.5 +[a-z0-9]{12}/,
    );
  });

  test('estimate prices a profile without creating anything', () => {
    const env = freshEnv();
    const result = sandboxer(['estimate', '-p', 'saas-stub', '--ttl', '2h', '--json'], env);
    expect(result.json).toMatchObject({
      profile: 'profile.saas-stub',
      pricing: 'metered',
      quote: { credits: 60 },
    });
    expect(sandboxer(['estimate', '-p', 'compose-e2e'], env).stdout).toContain('(self-hosted): no charge');
  });

  test('insufficient credits: a clear refusal (exit 7) that names the cheaper alternatives; nothing is made', () => {
    const env = freshEnv();
    sandboxer(['credits', 'grant', 'small', '10'], env);
    const result = sandboxer(
      ['create', '-p', 'saas-stub', '-i', `repo=${sampleRepo}`, '--account', 'small', '--json'],
      env,
    );
    expect(result.code).toBe(7);
    expect(result.stderr).toContain(
      'account "small" cannot afford profile.saas-stub for 30m: estimate 15 credits, available 10 (balance 10, held 0). Cheapest alternatives: a ttl of 20m (10 credits), or a self-hosted profile at no charge (compose-checkpoint, compose-e2e, vm-haskell-build); or grant the account more credits (sandboxer credits grant "small" <amount>)',
    );
    expect(result.json.error).toMatchObject({
      code: 'INSUFFICIENT_CREDITS',
      details: { available: 10, estimate: 15 },
    });
    expect(sandboxer(['list', '--all', '--json'], env).json).toEqual([]);
    expect(sandboxer(['credits', 'balance', 'small', '--json'], env).json).toMatchObject({
      balance: 10,
      held: 0,
    });
  });

  test('burst-sandbox falls back to the self-hosted testbed when credits say no, and route --explain says why', () => {
    const env = { ...freshEnv(), SANDBOXER_COMPOSE_CMD: 'docker-compose' };
    const host = [
      '--host',
      `${testbed.user}@${testbed.host1}:${testbed.port}`,
      '--identity-file',
      testbed.key,
      '--known-hosts',
      testbed.knownHosts,
    ];
    const route = sandboxer(
      [
        'route',
        '-p',
        'burst-sandbox',
        '-i',
        `repo=${composeRepo}`,
        '--account',
        'none',
        '--explain',
        ...host,
      ],
      env,
    );
    expect(route.code, route.stderr).toBe(0);
    expect(route.stdout).toMatch(/profile\.burst-sandbox → ext\.compose-ssh on sbxtest@127\.0\.0\.1:2222/);
    expect(route.stdout).toMatch(
      /1 +ext\.saas-stub +local +metered +15 +rejected: insufficient credits: available 0, estimate 15/,
    );
    expect(route.stdout).toMatch(/2 +ext\.compose-ssh +sbxtest@127\.0\.0\.1:2222 +self-hosted +- +chosen/);

    const created = sandboxer(
      ['create', '-p', 'burst-sandbox', '-i', `repo=${composeRepo}`, '--account', 'none', '--json', ...host],
      env,
    );
    expect(created.code, created.stderr).toBe(0);
    expect(created.json).toMatchObject({
      extension: 'ext.compose-ssh',
      routing: [{ extension: 'ext.saas-stub', reasons: ['insufficient credits: available 0, estimate 15'] }],
    });
    expect(sandboxer(['destroy', created.json.id], env).code).toBe(0);
    expect(projectResources(created.json.id)).toEqual([]);
    expect(sandboxer(['credits', 'history', 'none', '--json'], env).json).toEqual([]);
  });

  test('with credits, burst-sandbox bursts to the metered backend until its burst cap of 4', () => {
    const env = freshEnv();
    sandboxer(['credits', 'grant', 'burst', '1000'], env);
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) {
      const created = sandboxer(
        ['create', '-p', 'burst-sandbox', '-i', `repo=${sampleRepo}`, '--account', 'burst', '--json'],
        env,
      );
      expect(created.json.extension).toBe('ext.saas-stub');
      ids.push(created.json.id);
    }
    const route = sandboxer(
      ['route', '-p', 'burst-sandbox', '-i', `repo=${sampleRepo}`, '--account', 'burst', '--explain'],
      env,
    );
    expect(route.stdout).toContain(
      'rejected: burst cap reached (4/4 live profile.burst-sandbox sandboxes on ext.saas-stub)',
    );
    for (const id of ids) expect(sandboxer(['destroy', id], env).code).toBe(0);
  });
});

describe('concurrency and crashes', () => {
  test('50 concurrent creates against an account that can afford 20: exactly 20 admitted, never negative', async () => {
    const env = freshEnv();
    sandboxer(['credits', 'grant', 'ci', '300'], env); // 20 × 15 credits
    const results = await Promise.all(
      Array.from({ length: 50 }, () =>
        sandboxerAsync(
          ['create', '-p', 'saas-stub', '-i', `repo=${sampleRepo}`, '--account', 'ci', '--json'],
          env,
        ),
      ),
    );
    const admitted = results.filter((r) => r.code === 0);
    const refused = results.filter((r) => r.code === 7);
    expect(admitted).toHaveLength(20);
    expect(refused).toHaveLength(30);
    for (const r of refused) expect(r.json.error.code).toBe('INSUFFICIENT_CREDITS');
    expect(sandboxer(['credits', 'balance', 'ci', '--json'], env).json).toMatchObject({
      balance: 300,
      held: 300,
      available: 0,
    });

    for (const r of admitted) expect(sandboxer(['destroy', r.json.id], env).code).toBe(0);
    const history = sandboxer(['credits', 'history', 'ci', '--json'], env).json as Entry[];
    const { balance, lowestAvailable } = replay(history);
    expect(lowestAvailable).toBeGreaterThanOrEqual(0);
    const reported = sandboxer(['credits', 'balance', 'ci', '--json'], env).json;
    expect(reported).toMatchObject({ balance: 290, held: 0, available: 290 });
    expect(balance).toBe(reported.balance);
  }, 240_000);

  test('a create killed between hold and provision: its hold is reclaimed by destroy, nothing charged', async () => {
    const env = freshEnv();
    const project = mkdtempSync(join(tmpdir(), 'sbx-pay-project-'));
    mkdirSync(join(project, '.sandboxer', 'extensions'), { recursive: true });
    mkdirSync(join(project, '.sandboxer', 'profiles'));
    // A metered backend whose provision takes a minute: time enough to kill its creator mid-way.
    writeFileSync(
      join(project, '.sandboxer', 'extensions', 'slow.mjs'),
      `export function createSlow(context) {
  return {
    id: context.declaration.id, hostKind: 'local',
    validateInputs: (i) => i,
    async provision(r) { await new Promise((ok) => setTimeout(ok, 60000)); return { sandbox_id: r.sandboxId, host: 'local' }; },
    async waitReady() { return {}; },
    async teardown() { return { removed: [], leftovers: [], already_gone: true }; },
    estimateCost: (_p, s) => ({ credits: Math.ceil(s / 60), rate: 1, unit: 'minute', breakdown: {} }),
    meterActual: (_h, u) => ({ credits: 1, duration: (u.destroyedAt - u.createdAt) / 1000, breakdown: {} }),
  };
}
`,
    );
    writeFileSync(
      join(project, '.sandboxer', 'extensions', 'ext.slow.yaml'),
      'id: ext.slow\ntitle: Slow\nhandler: ./slow.mjs:createSlow\ncapabilities:\n  isolation_levels: [directory]\n  pricing_model: metered\n',
    );
    writeFileSync(
      join(project, '.sandboxer', 'profiles', 'profile.slow.yaml'),
      'description: slow\nextension: ext.slow\nttl: 10m\n',
    );
    const projectEnv = { ...env, SANDBOXER_CONFIG_DIR: join(project, '.sandboxer') };
    sandboxer(['credits', 'grant', 'k', '50'], projectEnv);

    const child: ChildProcess = spawn(
      process.execPath,
      [CLI, 'create', '-p', 'slow', '--account', 'k', '-v'],
      {
        env: { ...process.env, ...projectEnv },
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    await new Promise<void>((resolve) => {
      child.stderr?.on('data', (chunk: Buffer) => {
        if (chunk.toString().includes('holding 10 credits')) resolve();
      });
    });
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    expect(sandboxer(['credits', 'balance', 'k', '--json'], projectEnv).json).toMatchObject({
      held: 10,
      available: 40,
    });

    const [stuck] = sandboxer(['list', '--json'], projectEnv).json;
    expect(stuck.state).toBe('provisioning');
    const destroyed = sandboxer(['destroy', stuck.id, '--json'], projectEnv); // waits out the dead creator's lock
    expect(destroyed.code, destroyed.stderr).toBe(0);
    expect(destroyed.json.cost).toBeUndefined();
    expect(sandboxer(['credits', 'balance', 'k', '--json'], projectEnv).json).toMatchObject({
      balance: 50,
      held: 0,
      available: 50,
    });
  }, 60_000);
});
