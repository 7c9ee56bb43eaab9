import { beforeEach, describe, expect, test } from 'vitest';
import { InsufficientCreditsError, NoBackendAvailableError, ProvisionError } from '../../src/errors.js';
import type { RemoteHost } from '../../src/records/host-target.js';
import type { SandboxRecord } from '../../src/records/sandbox.js';
import type { RoutingDecision } from '../../src/routing/resolver.js';
import type { FileStateStore } from '../../src/state/file-store.js';
import { MemoryExtension } from '../support/memory-extension.js';
import { setup } from './fixtures.js';

const CONSUMER = 'owner/repo#4242.1/e2e';
const ACCOUNT = 'owner/repo';
const SELF_HOSTED = 'a self-hosted profile at no charge (compose-checkpoint, compose-e2e, vm-haskell-build)';

beforeEach(() => MemoryExtension.resources.clear());

/** What `route()` found, reduced to what a reader of `route --explain` sees. */
function summary(decision: RoutingDecision) {
  return {
    chosen: decision.chosen && `${decision.chosen.report.extension} on ${decision.chosen.report.host}`,
    candidates: decision.candidates.map((c) => [`${c.extension} on ${c.host}`, c.reasons]),
  };
}

describe('routing a create', () => {
  test('takes the first feasible candidate and records account, estimate and hold', async () => {
    const { manager, repo } = await setup();
    const steps: string[] = [];
    const record = await manager.create(
      { profile: 'burst', inputs: { name: 'a', repo }, consumer: CONSUMER },
      { progress: (m) => steps.push(m) },
    );
    expect(record).toMatchObject({
      state: 'ready',
      extension: 'ext.memory',
      host: 'local',
      account: ACCOUNT,
      estimate: { credits: 10, rate: 1, unit: 'minute' },
      hold: expect.any(String),
    });
    expect(record.routing).toBeUndefined();
    const holdUntil = new Date(Date.parse(record.expires_at) + 10 * 60_000).toISOString();
    expect(await manager.ledger.history(ACCOUNT)).toMatchObject([
      { kind: 'grant', credits: 1000, note: 'initial grant' },
      { kind: 'hold', id: record.hold, credits: 10, sandbox: record.id, expires_at: holdUntil },
    ]);
    expect(await manager.ledger.balance(ACCOUNT)).toMatchObject({ balance: 1000, held: 10, available: 990 });
    expect(steps).toContain(
      `sandbox ${record.id}: provisioning on local with ext.memory (profile profile.burst, holding 10 credits from "${ACCOUNT}")`,
    );
  });

  test('falls back when the burst cap is reached, and returns once a slot is free', async () => {
    const { manager, repo } = await setup();
    const request = { profile: 'burst', inputs: { name: 'a', repo }, consumer: CONSUMER };
    const first = await manager.create(request);
    await manager.create(request);
    const steps: string[] = [];
    const third = await manager.create(request, { progress: (m) => steps.push(m) });
    const reason = 'burst cap reached (2/2 live profile.burst sandboxes on ext.memory)';
    expect(third).toMatchObject({
      extension: 'ext.saas-stub',
      estimate: { credits: 5 },
      routing: [{ extension: 'ext.memory', host: 'local', reasons: [reason] }],
    });
    expect(steps).toContain(`routing: skipped ext.memory on local: ${reason}`);

    await manager.destroy(first.id);
    expect((await manager.create(request)).extension).toBe('ext.memory');
  });

  test('parallel creates never exceed the burst cap', async () => {
    const { manager, repo } = await setup();
    const records = await Promise.all(
      Array.from({ length: 5 }, (_, i) =>
        manager.create({ profile: 'burst', inputs: { name: `n${i}`, repo }, consumer: CONSUMER }),
      ),
    );
    const on = (ext: string) => records.filter((r) => r.extension === ext).length;
    expect([on('ext.memory'), on('ext.saas-stub')]).toEqual([2, 3]);
    expect(await manager.ledger.balance(ACCOUNT)).toMatchObject({ held: 2 * 10 + 3 * 5 });
  }, 60_000);

  test.each([
    {
      name: 'max_cost exceeded',
      profile: 'burst',
      credits: 1000,
      ttl: '1h',
      memory: ['estimate 60 credits is over max_cost 50'],
      chosen: 'ext.saas-stub',
    },
    {
      name: 'insufficient credits',
      profile: 'burst',
      credits: 8,
      ttl: undefined,
      memory: ['insufficient credits: available 8, estimate 10'],
      chosen: 'ext.saas-stub',
    },
    {
      name: 'isolation not offered',
      profile: 'isolated',
      credits: 1000,
      ttl: undefined,
      memory: ['isolation "vm" not offered (offers: directory)'],
      chosen: 'ext.saas-stub',
    },
  ])('$name: route() explains it and create() falls back with the same reason', async (row) => {
    const { manager, repo } = await setup({ initialCredits: row.credits });
    const request = { profile: row.profile, inputs: { name: 'a', repo }, consumer: CONSUMER, ttl: row.ttl };
    const decision = await manager.route(request);
    const memoryHost = row.profile === 'isolated' ? '(default)' : 'local';
    expect(summary(decision)).toEqual({
      chosen: `${row.chosen} on local`,
      candidates: [
        [`ext.memory on ${memoryHost}`, row.memory],
        ['ext.saas-stub on local', []],
      ],
    });
    const record = await manager.create(request);
    expect(record.extension).toBe(row.chosen);
    expect(record.routing).toEqual([{ extension: 'ext.memory', host: memoryHost, reasons: row.memory }]);
  });

  test('none feasible: NoBackendAvailableError with a numbered table, nothing recorded or held', async () => {
    const { manager, repo } = await setup({ initialCredits: 1 });
    const error = await manager
      .create({ profile: 'burst', inputs: { name: 'a', repo }, consumer: CONSUMER, ttl: '1h' })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NoBackendAvailableError);
    expect((error as NoBackendAvailableError).message).toBe(
      [
        'no backend can take a profile.burst sandbox now:',
        '  1. ext.memory on local: estimate 60 credits is over max_cost 50',
        '  2. ext.saas-stub on local: insufficient credits: available 1, estimate 30',
      ].join('\n'),
    );
    expect((error as NoBackendAvailableError).details).toMatchObject({
      profile: 'profile.burst',
      candidates: [{ feasible: false }, { feasible: false }],
    });
    expect(await manager.list({ all: true })).toEqual([]);
    expect((await manager.ledger.history()).filter((e) => e.kind === 'hold')).toEqual([]);
  });
});

describe('route --explain', () => {
  test('evaluates every candidate and holds nothing', async () => {
    const { manager, repo } = await setup();
    await manager.ledger.grant(ACCOUNT, 5);
    const before = await manager.ledger.history();
    const decision = await manager.route({
      profile: 'burst',
      inputs: { name: 'a', repo },
      consumer: CONSUMER,
    });
    expect(decision).toMatchObject({ profile: 'profile.burst', account: ACCOUNT });
    expect(decision.chosen?.report.extension).toBe('ext.memory');
    expect(decision.chosen?.hold).toBeUndefined();
    expect(decision.candidates).toMatchObject([
      { index: 0, extension: 'ext.memory', pricing: 'metered', feasible: true, estimate: { credits: 10 } },
      { index: 1, extension: 'ext.saas-stub', pricing: 'metered', feasible: true, estimate: { credits: 5 } },
    ]);
    expect(await manager.ledger.history()).toEqual(before);
    expect(await manager.list({ all: true })).toEqual([]);
  });

  test('a candidate with no host says how to give one', async () => {
    const { manager, repo } = await setup();
    const decision = await manager.route({ profile: 'hostless', inputs: { repo } });
    expect(decision.candidates[0]?.reasons[0]).toMatch(
      /^host: ext\.compose-ssh needs a host: name one \(user@address\[:port\], a hosts-file alias or pool\)/,
    );
    expect(decision.chosen?.report.extension).toBe('ext.saas-stub');
  });
});

/** One host-routing case: docker-1's occupant, which hosts refuse connections, and what is expected. */
interface HostRow {
  name: string;
  docker1: SandboxRecord['state'];
  unreachable: string[];
  probed: string[];
  reasons: string[][];
  chosen: string;
}

describe('host capacity and reachability (routing decision only, never provisioned)', () => {
  /** A sandbox of another profile on docker-1 (capacity 1), in the given state. */
  async function occupyDocker1(store: FileStateStore, state: SandboxRecord['state']) {
    const now = new Date().toISOString();
    await store.putSandbox({
      id: 'aaaaaaaaaaaa',
      state,
      profile: 'profile.compose-e2e',
      extension: 'ext.compose-ssh',
      host: 'docker-1',
      consumer: 'someone',
      created_at: now,
      updated_at: now,
      expires_at: now,
      ttl_seconds: 3600,
    });
  }

  test.each<HostRow>([
    {
      name: 'docker-1 full, docker-2 unreachable → the saas stub',
      docker1: 'ready',
      unreachable: ['docker-2'],
      probed: ['docker-2'],
      reasons: [['host docker-1 is full (1/1 live sandboxes)'], ['host unreachable: connection refused'], []],
      chosen: 'ext.saas-stub on local',
    },
    {
      name: 'docker-1 full, docker-2 reachable → docker-2',
      docker1: 'ready',
      unreachable: [],
      probed: ['docker-2'],
      reasons: [['host docker-1 is full (1/1 live sandboxes)'], [], []],
      chosen: 'ext.compose-ssh on docker-2',
    },
    {
      name: 'a destroyed sandbox frees docker-1',
      docker1: 'destroyed',
      unreachable: [],
      probed: ['docker-1', 'docker-2'],
      reasons: [[], [], []],
      chosen: 'ext.compose-ssh on docker-1',
    },
  ])('$name', async (row) => {
    const probed: string[] = [];
    const probe = async (host: RemoteHost) => {
      probed.push(host.name);
      return row.unreachable.includes(host.name) ? 'connection refused' : undefined;
    };
    const { manager, store, repo } = await setup({ probe });
    await occupyDocker1(store, row.docker1);
    const decision = await manager.route({ profile: 'hosted', inputs: { repo } });
    expect(summary(decision)).toEqual({
      chosen: row.chosen,
      candidates: [
        ['ext.compose-ssh on docker-1', row.reasons[0]],
        ['ext.compose-ssh on docker-2', row.reasons[1]],
        ['ext.saas-stub on local', row.reasons[2]],
      ],
    });
    expect(probed).toEqual(row.probed);
  });
});

describe('a profile without routing', () => {
  test.each([
    {
      credits: 3,
      ttl: undefined,
      duration: '10m',
      estimate: 10,
      alternatives: `a ttl of 3m (3 credits), or ${SELF_HOSTED}`,
    },
    {
      credits: 30,
      ttl: '1h',
      duration: '1h',
      estimate: 60,
      alternatives: `a ttl of 30m (30 credits), or ${SELF_HOSTED}`,
    },
    { credits: 0, ttl: undefined, duration: '10m', estimate: 10, alternatives: SELF_HOSTED },
  ])(
    'with $credits credits for $duration: InsufficientCreditsError naming the cheaper alternatives',
    async ({ credits, ttl, duration, estimate, alternatives }) => {
      const { manager } = await setup({ initialCredits: credits });
      const request = { profile: 'memory', inputs: { name: 'a' }, consumer: 'alice@laptop', ttl };
      const error = await manager.create(request).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(InsufficientCreditsError);
      expect(error).not.toBeInstanceOf(NoBackendAvailableError);
      expect((error as Error).message).toBe(
        `account "alice@laptop" cannot afford profile.memory for ${duration}: estimate ${estimate} credits, ` +
          `available ${credits} (balance ${credits}, held 0). Cheapest alternatives: ${alternatives}; ` +
          'or grant the account more credits',
      );
      expect((error as InsufficientCreditsError).details).toEqual({
        account: 'alice@laptop',
        balance: credits,
        held: 0,
        available: credits,
        estimate,
      });
      expect(await manager.list({ all: true })).toEqual([]);
      expect(summary(await manager.route(request)).candidates).toEqual([
        ['ext.memory on local', [`insufficient credits: available ${credits}, estimate ${estimate}`]],
      ]);
    },
  );
});

describe('metering a sandbox’s life', () => {
  test('a failed provision releases the hold and charges nothing', async () => {
    const { manager, repo } = await setup();
    const error = await manager
      .create({ profile: 'burst', inputs: { name: 'a', repo, fail_at: 'provision' }, consumer: CONSUMER })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProvisionError);
    const [record] = await manager.list({ all: true });
    expect(record).toMatchObject({ state: 'failed', hold: expect.any(String) });
    const history = await manager.ledger.history(ACCOUNT);
    expect(history.map((e) => e.kind)).toEqual(['grant', 'hold', 'release']);
    expect(history[2]).toMatchObject({ hold: record?.hold, credits: 10, note: 'provision failed' });
    expect(await manager.ledger.balance(ACCOUNT)).toMatchObject({ balance: 1000, held: 0, available: 1000 });
    await manager.destroy(record?.id ?? '');
    expect(await manager.ledger.history(ACCOUNT)).toEqual(history);
  });

  test('a sandbox whose creator died before it was ready is torn down free of charge', async () => {
    let clock = new Date('2030-01-01T00:00:00Z');
    const { manager, store, repo } = await setup({ now: () => clock });
    const created = await manager.create({
      profile: 'burst',
      inputs: { name: 'a', repo },
      consumer: CONSUMER,
    });
    await store.putSandbox({ ...created, state: 'provisioning', ready_at: undefined });
    clock = new Date(clock.getTime() + 5 * 60_000);
    const destroyed = await manager.destroy(created.id);
    expect(destroyed.cost).toBeUndefined();
    const history = await manager.ledger.history(ACCOUNT);
    expect(history.map((e) => e.kind)).toEqual(['grant', 'hold', 'release']);
    expect(history[2]).toMatchObject({ hold: created.hold, note: 'destroyed' });
    expect((await manager.ledger.balance(ACCOUNT)).available).toBe(1000);
  });

  test.each([
    { profile: 'memory', inputs: { name: 'a' }, seconds: 61, credits: 2 },
    { profile: 'memory', inputs: { name: 'a' }, seconds: 60, credits: 1 },
    // Past its TTL (10m) a sandbox pays at most what its hold reserved (the rest is waived), so no
    // balance goes below zero by our own doing; its duration is metered up to expiry + grace.
    { profile: 'memory', inputs: { name: 'a' }, seconds: 1140, credits: 10 },
    { profile: 'memory', inputs: { name: 'a' }, seconds: 1500, credits: 10, billed: 1200 },
    { profile: 'saas-stub', inputs: {}, seconds: 61, credits: 1 },
    { profile: 'saas-stub', inputs: {}, seconds: 10, credits: 0.5 },
  ] as {
    profile: string;
    inputs: Record<string, string>;
    seconds: number;
    credits: number;
    billed?: number;
  }[])(
    '$profile alive $seconds s is debited $credits credits, once',
    async ({ profile, inputs, seconds, credits, billed }) => {
      let clock = new Date('2030-01-01T00:00:00Z');
      const { manager, store, repo } = await setup({ now: () => clock });
      // Only saas-stub takes a repo; the memory backend would refuse it as an unknown input.
      const withRepo = profile === 'saas-stub' ? { repo, ...inputs } : inputs;
      const created = await manager.create({ profile, inputs: withRepo, consumer: CONSUMER });
      clock = new Date(clock.getTime() + seconds * 1000);
      const steps: string[] = [];
      const destroyed = await manager.destroy(created.id, { progress: (m) => steps.push(m) });
      expect(destroyed.cost).toMatchObject({ credits, duration: billed ?? seconds });
      expect(steps).toContain(`sandbox ${created.id}: debited ${credits} credits from "${ACCOUNT}"`);

      await manager.destroy(created.id);
      // A destroy that died after settling but before saving the record is retried: still one debit.
      await store.putSandbox({ ...destroyed, state: 'destroying' });
      await manager.destroy(created.id);

      const history = await manager.ledger.history(ACCOUNT);
      expect(history.filter((e) => e.kind === 'debit')).toMatchObject([{ credits, sandbox: created.id }]);
      expect(history.filter((e) => e.kind === 'release')).toMatchObject([{ hold: created.hold }]);
      expect(await manager.ledger.balance(ACCOUNT)).toEqual({
        account: ACCOUNT,
        balance: (100_000 - credits * 100) / 100,
        held: 0,
        available: (100_000 - credits * 100) / 100,
        holds: [],
      });
    },
  );
});
