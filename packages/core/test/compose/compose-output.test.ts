import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import {
  parseComposePs,
  parseComposeVersion,
  serviceOfContainerName,
  unhealthyContainers,
} from '../../src/extensions/builtin/compose-ssh/compose-output.js';
import { parseContainers } from '../../src/extensions/builtin/compose-ssh/status.js';

/** Recorded (and, for Compose v2, written from its source) outputs: see the folder's README. */
const fixture = (name: string) =>
  readFileSync(join(import.meta.dirname, '../../../../tests/fixtures/compose-output', name), 'utf8');

describe('unhealthyContainers: which container `up` says is unhealthy', () => {
  test.each([
    ['v1-up-unhealthy.txt', [{ id: '1b89bd2255e6' }]],
    ['v2-up-unhealthy.txt', [{ name: 'sbx-abcdefghijkl-db-1' }]],
    ['v1-version.txt', []],
  ])('%s', (file, refs) => {
    expect(unhealthyContainers(fixture(file))).toEqual(refs);
  });
});

describe('serviceOfContainerName: v1/podman-compose `_` and v2 `-` names', () => {
  test.each([
    ['sbx-abcdefghijkl_db_1', 'db'],
    ['sbx-abcdefghijkl-db-1', 'db'],
    ['/sbx-abcdefghijkl-db-1', 'db'],
    ['sbx-abcdefghijkl_my-api_2', 'my-api'],
    ['sbx-abcdefghijkl-my_api-12', 'my_api'],
    ['sbx-abcdefghijkm-db-1', undefined],
    ['custom-name', undefined],
    ['sbx-abcdefghijkl_db', undefined],
  ])('%s → %s', (name, service) => {
    expect(serviceOfContainerName('sbx-abcdefghijkl', name)).toBe(service);
  });
});

describe('parseComposeVersion', () => {
  test.each([
    ['v1-version.txt', { kind: 'compose-v1', version: '1.29.2' }],
    ['v2-version.txt', { kind: 'compose-v2', version: '2.24.5' }],
    ['podman-compose-version.txt', { kind: 'podman-compose', version: '1.0.3' }],
    ['docker-without-v2-version.txt', undefined],
  ])('%s', (file, expected) => {
    expect(parseComposeVersion(fixture(file))).toEqual(expected);
  });
});

describe('parseComposePs: v2 before 2.21 (one array) and after (one object per line)', () => {
  test.each(['v2-ps-array.json', 'v2-ps-lines.jsonl'])('%s', (file) => {
    expect(parseComposePs(fixture(file)).map((c) => [c.service, c.state, c.health])).toEqual([
      ['db', 'running', 'unhealthy'],
      ['web', 'running', ''],
    ]);
  });

  test('nothing running: empty output', () => {
    expect(parseComposePs('')).toEqual([]);
    expect(parseComposePs('[]\n')).toEqual([]);
  });
});

describe('parseContainers on Podman 4.3', () => {
  const [db, web] = parseContainers(fixture('podman-4.3-inspect.jsonl'));

  test('its health state and log are read', () => {
    expect(db).toMatchObject({ service: 'db', running: true, healthy: false, status: 'running, unhealthy' });
    expect(db?.healthLog?.at(-1)).toMatchObject({
      exitCode: 1,
      output: expect.stringContaining('db not ready'),
    });
    expect(db?.healthIntervalMs).toBe(2000);
    expect(db?.ports['8080/tcp']?.[0]?.HostIp).toBe('127.0.0.1');
  });

  test('`Health.Status: ""` is no healthcheck, not an unhealthy one', () => {
    expect(web).toMatchObject({ service: 'web', running: true, healthy: undefined, status: 'running' });
    expect(web?.healthLog).toBeUndefined();
  });
});
