import type { SandboxRecord } from '@sand-boxer/core';
import { expect, test } from 'vitest';
import { summaryRows } from '../src/summary.js';

test('the summary shows each phase and the credits used', () => {
  const record = {
    id: 'abcdefghijkl',
    state: 'destroyed',
    profile: 'profile.saas-stub',
    extension: 'ext.saas-stub',
    host: 'local',
    consumer: 'o/r#1.1/e2e',
    created_at: '2026-01-01T00:00:00.000Z',
    provisioned_at: '2026-01-01T00:00:01.500Z',
    ready_at: '2026-01-01T00:00:04.000Z',
    updated_at: '2026-01-01T00:01:00.000Z',
    expires_at: '2026-01-01T00:30:00.000Z',
    ttl_seconds: 1800,
    cost: { credits: 0.5, duration: 60, breakdown: {} },
  } as SandboxRecord;
  expect(summaryRows(record, 2.25, 'destroyed')).toEqual([
    ['sandbox', 'abcdefghijkl'],
    ['profile', 'profile.saas-stub (ext.saas-stub)'],
    ['host', 'local'],
    ['consumer', 'o/r#1.1/e2e'],
    ['outcome', 'destroyed'],
    ['provision', '1.5 s'],
    ['wait ready', '2.5 s'],
    ['teardown', '2.3 s'],
    ['credits used', '0.5'],
  ]);
});

test('a sandbox placed in a pool: the host with its pool, and the hosts skipped with why', () => {
  const record = {
    id: 'abcdefghijkl',
    state: 'ready',
    profile: 'profile.compose-e2e',
    extension: 'ext.compose-ssh',
    host: 'docker1',
    target: { name: 'docker1', pool: 'docker' },
    routing: [
      {
        extension: 'ext.compose-ssh',
        host: 'docker2',
        pool: 'docker',
        reasons: ['failed: cannot reach 10.0.0.2:22'],
      },
    ],
    consumer: 'o/r#1.1/e2e',
    created_at: '2026-01-01T00:00:00.000Z',
    updated_at: '2026-01-01T00:01:00.000Z',
    expires_at: '2026-01-01T00:30:00.000Z',
    ttl_seconds: 1800,
  } as SandboxRecord;
  const rows = summaryRows(record, undefined, 'destroyed');
  expect(rows).toContainEqual(['host', 'docker1 (pool docker)']);
  expect(rows).toContainEqual(['skipped', 'docker2: failed: cannot reach 10.0.0.2:22']);
});

test('a create with timings: time to ready, phase by phase', () => {
  const record = {
    id: 'abcdefghijkl',
    state: 'ready',
    profile: 'profile.compose-e2e',
    extension: 'ext.compose-ssh',
    host: 'docker1',
    consumer: 'c',
    created_at: '2026-01-01T00:00:00.100Z',
    updated_at: '2026-01-01T00:00:05.000Z',
    expires_at: '2026-01-01T01:00:00.000Z',
    ttl_seconds: 3600,
    timings: {
      accepted: '2026-01-01T00:00:00.000Z',
      connected: '2026-01-01T00:00:00.250Z',
      synced: '2026-01-01T00:00:01.250Z',
      up: '2026-01-01T00:00:03.000Z',
      ready: '2026-01-01T00:00:04.500Z',
    },
  } as SandboxRecord;
  expect(summaryRows(record, undefined, 'kept')).toContainEqual([
    'time to ready',
    'ready in 4.50 s (connected 0.25 s → synced 1.00 s → up 1.75 s → ready 1.50 s)',
  ]);
});
