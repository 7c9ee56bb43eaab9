import { describe, expect, test } from 'vitest';
import {
  type ContainerStatus,
  parseContainers,
  pollDelayMs,
  readiness,
} from '../../src/extensions/builtin/compose-ssh/status.js';

/**
 * Lines as `docker inspect --format` prints them with inspectProjectCommand's format: the real
 * shapes of `.State` (with and without `Health`), `.Config.Labels` and `.NetworkSettings.Ports`.
 */
function inspectLine(
  id: string,
  service: string,
  state: Record<string, unknown>,
  ports: Record<string, unknown> | null = {},
): string {
  return JSON.stringify({
    id,
    labels: {
      'com.docker.compose.project': 'sbx-abc',
      'com.docker.compose.service': service,
      'com.docker.compose.container-number': '1',
      'com.docker.compose.oneoff': 'False',
      'sandboxer.sandbox_id': 'abc',
    },
    state: {
      Status: 'running',
      Running: true,
      Paused: false,
      Restarting: false,
      OOMKilled: false,
      Dead: false,
      Pid: 4242,
      ExitCode: 0,
      Error: '',
      StartedAt: '2026-01-01T00:00:00.123456789Z',
      FinishedAt: '0001-01-01T00:00:00Z',
      ...state,
    },
    ports,
  });
}

const health = (Status: string) => ({
  Health: {
    Status,
    FailingStreak: Status === 'unhealthy' ? 3 : 0,
    Log: [{ Start: '2026-01-01T00:00:01Z', End: '2026-01-01T00:00:01Z', ExitCode: 0, Output: 'ok\n' }],
  },
});

const webPorts = {
  '80/tcp': [
    { HostIp: '0.0.0.0', HostPort: '8080' },
    { HostIp: '::', HostPort: '8080' },
  ],
  '443/tcp': null,
};

const IDS = {
  web: 'aaaaaaaaaaaa1111111111111111111111111111111111111111111111111111',
  db: 'bbbbbbbbbbbb2222222222222222222222222222222222222222222222222222',
};

describe('parseContainers', () => {
  test.each<[string, string, Partial<ContainerStatus>]>([
    [
      'running without a healthcheck',
      inspectLine(IDS.web, 'web', {}, webPorts),
      { id: IDS.web, service: 'web', status: 'running', running: true, healthy: undefined, ports: webPorts },
    ],
    [
      'running, health starting',
      inspectLine(IDS.db, 'db', health('starting')),
      { service: 'db', status: 'running, starting', running: true, healthy: false },
    ],
    [
      'running, healthy',
      inspectLine(IDS.db, 'db', health('healthy')),
      { status: 'running, healthy', running: true, healthy: true },
    ],
    [
      'running, unhealthy',
      inspectLine(IDS.db, 'db', health('unhealthy')),
      { status: 'running, unhealthy', running: true, healthy: false },
    ],
    [
      'Health: null (engines that print it for containers without a healthcheck)',
      inspectLine(IDS.web, 'web', { Health: null }),
      { status: 'running', healthy: undefined },
    ],
    [
      'exited 0',
      inspectLine(IDS.web, 'migrate', { Status: 'exited', Running: false, Pid: 0, ExitCode: 0 }, null),
      { service: 'migrate', status: 'exited 0', running: false, exitCode: 0, ports: {} },
    ],
    [
      'exited 1 (the health it had is not shown)',
      inspectLine(IDS.web, 'web', { Status: 'exited', Running: false, ExitCode: 1, ...health('unhealthy') }),
      { status: 'exited 1', running: false, exitCode: 1, healthy: false },
    ],
    [
      'exited 137 (killed)',
      inspectLine(IDS.web, 'web', { Status: 'exited', Running: false, OOMKilled: true, ExitCode: 137 }),
      { status: 'exited 137', exitCode: 137 },
    ],
    [
      'restarting',
      inspectLine(IDS.web, 'web', { Status: 'restarting', Running: true, Restarting: true, ExitCode: 1 }),
      { status: 'restarting', running: false, exitCode: 1 },
    ],
    [
      'created, never started',
      inspectLine(IDS.web, 'web', { Status: 'created', Running: false, Pid: 0 }),
      { status: 'created', running: false },
    ],
    [
      'no compose labels',
      JSON.stringify({ id: IDS.web, labels: null, state: { Status: 'running', ExitCode: 0 }, ports: null }),
      { service: '?', status: 'running', ports: {} },
    ],
  ])('%s', (_name, line, expected) => {
    const [container, ...rest] = parseContainers(`${line}\n`);
    expect(rest).toEqual([]);
    expect(container).toMatchObject(expected);
  });

  test('one object per line; blank lines and engine warnings are skipped', () => {
    const output = [
      'WARNING: No swap limit support',
      inspectLine(IDS.web, 'web', {}, webPorts),
      '',
      `  ${inspectLine(IDS.db, 'db', health('healthy'))}  `,
      '',
    ].join('\n');
    expect(parseContainers(output).map((c) => [c.service, c.status])).toEqual([
      ['web', 'running'],
      ['db', 'running, healthy'],
    ]);
  });

  test.each(['', '\n', 'Error: No such object\n'])('%j → no containers', (output) => {
    expect(parseContainers(output)).toEqual([]);
  });
});

/** The status parsed from one inspect line. */
function status(line: string): ContainerStatus {
  const [container] = parseContainers(line);
  if (!container) throw new Error(`no container in ${line}`);
  return container;
}

const web = status(inspectLine(IDS.web, 'web', {}, webPorts));
const webStarting = status(inspectLine(IDS.web, 'web', health('starting')));
const webUnhealthy = status(inspectLine(IDS.web, 'web', health('unhealthy')));
const dbHealthy = status(inspectLine(IDS.db, 'db', health('healthy')));
const dbExited1 = status(inspectLine(IDS.db, 'db', { Status: 'exited', Running: false, ExitCode: 1 }));
const migrateExited0 = status(
  inspectLine(IDS.db, 'migrate', { Status: 'exited', Running: false, ExitCode: 0 }),
);
const migrateExited137 = status(
  inspectLine(IDS.web, 'migrate', { Status: 'exited', Running: false, OOMKilled: true, ExitCode: 137 }),
);
const workerRestarting = status(
  inspectLine(IDS.db, 'worker', { Status: 'restarting', Restarting: true, ExitCode: 2 }),
);

const noContainer = (service: string): ContainerStatus => ({
  id: '',
  service,
  status: 'no container',
  running: false,
  healthy: undefined,
  exitCode: 0,
  ports: {},
  mounts: [],
});

describe('readiness', () => {
  test.each<[string, string[], ContainerStatus[], ContainerStatus[], ContainerStatus[]]>([
    ['all ready (with and without a healthcheck)', ['web', 'db'], [web, dbHealthy], [], []],
    ['nothing expected', [], [], [], []],
    ['only the expected services count', ['db'], [webUnhealthy, dbHealthy], [], []],
    ['one health starting', ['web', 'db'], [webStarting, dbHealthy], [webStarting], []],
    ['unhealthy is not ready, but may recover: not failed', ['web'], [webUnhealthy], [webUnhealthy], []],
    ['a missing container', ['web', 'db'], [web], [noContainer('db')], []],
    ['nothing running yet', ['web', 'db'], [], [noContainer('web'), noContainer('db')], []],
    ['exited 1 fails at once', ['web', 'db'], [web, dbExited1], [dbExited1], [dbExited1]],
    // A one-shot service (a migration, a seed) that completed is done, not down.
    ['exited 0 is done: ready, not failed', ['migrate'], [migrateExited0], [], []],
    ['exited 0 next to running services', ['web', 'db', 'migrate'], [web, dbHealthy, migrateExited0], [], []],
    [
      'exited 0 does not hide another service',
      ['web', 'migrate'],
      [webStarting, migrateExited0],
      [webStarting],
      [],
    ],
    ['exited 137 (killed) fails', ['migrate'], [migrateExited137], [migrateExited137], [migrateExited137]],
    [
      'replicas: one exited 0, one exited 137: only the non-zero one fails',
      ['migrate'],
      [migrateExited0, migrateExited137],
      [migrateExited137],
      [migrateExited137],
    ],
    ['restarting is waited for, not failed', ['worker'], [workerRestarting], [workerRestarting], []],
    ['a scaled service is ready only when every replica is', ['web'], [web, webStarting], [webStarting], []],
  ])('%s', (_name, expected, containers, notReady, failed) => {
    expect(readiness(expected, containers)).toEqual({ ready: notReady.length === 0, notReady, failed });
  });
});

describe('when to look again (nextCheckAt, pollDelayMs)', () => {
  const starting = (log: Array<{ End: string }>, healthcheck: unknown) =>
    parseContainers(
      JSON.stringify({
        id: IDS.web,
        labels: { 'com.docker.compose.service': 'web' },
        state: {
          Status: 'running',
          ExitCode: 0,
          StartedAt: '2026-01-01T00:00:00.123456789Z',
          Health: { Status: 'starting', Log: log },
        },
        ports: {},
        mounts: [],
        healthcheck,
      }),
    )[0] as ContainerStatus;
  const at = (iso: string) => Date.parse(iso);

  test('the first check runs an interval after the start; the next, an interval after the last ended', () => {
    expect(starting([], { Interval: 2e9 }).nextCheckAt).toBe(at('2026-01-01T00:00:02.123Z'));
    expect(starting([{ End: '2026-01-01T00:00:02.500Z' }], { Interval: 2e9 }).nextCheckAt).toBe(
      at('2026-01-01T00:00:04.500Z'),
    );
    // No interval set: Docker's default, 30 s.
    expect(starting([], { Test: ['CMD', 'true'] }).nextCheckAt).toBe(at('2026-01-01T00:00:30.123Z'));
  });

  test('only a container still starting has a next check', () => {
    const healthy = parseContainers(inspectLine(IDS.web, 'web', health('healthy')))[0];
    expect(healthy?.nextCheckAt).toBeUndefined();
    expect(parseContainers(inspectLine(IDS.web, 'web', {}))[0]?.nextCheckAt).toBeUndefined();
  });

  test.each<[string, number | undefined, number[], number]>([
    ['just after the next check (20 ms margin)', 1000, [1200], 220],
    ['the earliest of several', 1000, [1300, 1100], 120],
    ['never sooner than 50 ms', 1000, [900], 50],
    ['never later than 500 ms', 1000, [5000], 500],
    ["the host's clock unknown: half a second", undefined, [1200], 500],
  ])('%s', (_what, now, checks, expected) => {
    const notReady = checks.map((t) => ({ ...starting([], { Interval: 2e9 }), nextCheckAt: t }));
    expect(pollDelayMs(notReady, now)).toBe(expected);
  });

  test('a service without a next check (no container, no healthcheck) keeps the half-second poll', () => {
    const noCheck = { ...starting([], { Interval: 2e9 }), nextCheckAt: undefined };
    expect(pollDelayMs([{ ...noCheck, nextCheckAt: 1100 }, noCheck], 1000)).toBe(500);
    expect(pollDelayMs([], 1000)).toBe(500);
  });
});
