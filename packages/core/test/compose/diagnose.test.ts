import { describe, expect, test } from 'vitest';
import {
  containersNamed,
  healthReport,
  overdueHealthchecks,
} from '../../src/extensions/builtin/compose-ssh/diagnose.js';
import type { ContainerStatus } from '../../src/extensions/builtin/compose-ssh/status.js';

const T0 = Date.parse('2026-01-01T00:00:00Z');

function container(id: string, service: string, extra: Partial<ContainerStatus> = {}): ContainerStatus {
  return {
    id,
    service,
    status: 'running, starting',
    running: true,
    healthy: false,
    exitCode: 0,
    ports: {},
    mounts: [],
    healthIntervalMs: 2000,
    startedAtMs: T0,
    ...extra,
  };
}

const DB = 'a1b2c3d4e5f6a1b2c3d4e5f6a1b2c3d4e5f6a1b2c3d4e5f6a1b2c3d4e5f6abcd';
const WEB = '0123456789ab0123456789ab0123456789ab0123456789ab0123456789abcdef';

describe('healthReport: the last health checks of a service', () => {
  test('the last three, newest last, output on one line each', () => {
    const log = [1, 2, 3, 4].map((n) => ({ end: `t${n}`, exitCode: 1, output: `refused ${n}\nretry\n` }));
    expect(healthReport(container(DB, 'db', { healthLog: log }))).toBe(
      ['t2 exit 1: refused 2 | retry', 't3 exit 1: refused 3 | retry', 't4 exit 1: refused 4 | retry'].join(
        '\n',
      ),
    );
  });

  test('no checks yet: nothing to say', () => {
    expect(healthReport(container(DB, 'db'))).toBeUndefined();
  });
});

describe('containersNamed: the service behind the container a compose error names', () => {
  const containers = [container(DB, 'db'), container(WEB, 'web')];
  test.each([
    ['a v1 short id', { id: 'a1b2c3d4e5f6' }, 'db'],
    ['a v2 name', { name: 'sbx-abcdefghijkl-web-1' }, 'web'],
    ['a v1 / podman-compose name', { name: 'sbx-abcdefghijkl_db_1' }, 'db'],
  ])('%s', (_n, ref, service) => {
    expect(containersNamed([ref], 'sbx-abcdefghijkl', containers).map((c) => c.service)).toEqual([service]);
  });

  test('a container of no service of ours: none', () => {
    expect(containersNamed([{ id: 'ffffffffffff' }], 'sbx-abcdefghijkl', containers)).toEqual([]);
  });
});

describe('overdueHealthchecks: Podman without systemd runs no checks by itself', () => {
  test.each([
    ['no check yet, started 4 s ago (interval 2 s)', {}, T0 + 4000, true],
    ['no check yet, started 2.5 s ago', {}, T0 + 2500, false],
    [
      'last check 1 s ago',
      { healthLog: [{ end: new Date(T0 + 9000).toISOString(), exitCode: 1, output: '' }] },
      T0 + 10_000,
      false,
    ],
    [
      'last check 5 s ago',
      { healthLog: [{ end: new Date(T0 + 5000).toISOString(), exitCode: 1, output: '' }] },
      T0 + 10_000,
      true,
    ],
    ['healthy already', { healthy: true }, T0 + 60_000, false],
    ['no healthcheck', { healthIntervalMs: undefined, healthy: undefined }, T0 + 60_000, false],
    ['not running', { running: false }, T0 + 60_000, false],
  ] as const)('%s → %s', (_n, extra, now, overdue) => {
    expect(overdueHealthchecks([container(DB, 'db', extra as Partial<ContainerStatus>)], now)).toEqual(
      overdue ? [DB] : [],
    );
  });
});
