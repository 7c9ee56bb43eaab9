import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { sandboxer } from './support/cli.js';
import { type RuntimeTarget, targetEnv } from './support/compose-cases.js';
import { projectResources } from './support/docker.js';
import { engine } from './support/engine.js';
import { loadTestbed, type Testbed } from './support/testbed.js';

/**
 * Copy-free warm starts (issue 22): on a root login (the testbed's third sshd, 127.0.0.3) with
 * overlayfs, the host's sync cache fills a sandbox as a read-only lower layer; nothing is copied,
 * nothing the sandbox does reaches the cache, and teardown leaves no mount and no layer. Docker
 * here (docker-compose v1), so what differs from compose-ssh.itg.test.ts is only the fill.
 */

const fixtures = join(import.meta.dirname, '..', 'fixtures');
const BASE = '/srv/sandboxer-overlay';
let testbed: Testbed;
let env: Record<string, string>;

const mounts = () =>
  readFileSync('/proc/mounts', 'utf8')
    .split('\n')
    .filter((line) => line.includes(` ${BASE}/`));

beforeAll(() => {
  testbed = loadTestbed();
  const host = testbed.env.SANDBOXER_TESTBED_PODMAN_HOST;
  if (!host) throw new Error('the testbed has no root login: re-run `sudo bash tests/testbed/up.sh`');
  const target: RuntimeTarget = {
    compose: 'docker-compose',
    user: testbed.env.SANDBOXER_TESTBED_PODMAN_USER ?? 'root',
    address: host,
    base: BASE,
    engine: engine('docker'),
    upWaitsForHealth: true,
  };
  env = targetEnv(testbed, target);
});

afterAll(() => {
  expect(mounts()).toEqual([]);
  const left = existsSync(BASE) ? readdirSync(BASE).filter((n) => n.startsWith('sbx-')) : [];
  expect(left).toEqual([]);
});

describe('the host cache as an overlay layer (root login, overlayfs)', () => {
  test('cold then warm: each sandbox is an overlay of the cache; its writes never reach the cache; teardown unmounts', async () => {
    const create = () =>
      sandboxer(
        ['create', '-p', 'compose-e2e', '-i', `repo=${join(fixtures, 'compose-http')}`, '--json', '-v'],
        env,
      );
    for (const round of ['cold', 'warm']) {
      const created = create();
      expect(created.code, created.stderr).toBe(0);
      expect(created.stderr).toContain('filled from the cache as an overlay layer, nothing copied');
      const { id } = created.json;
      const dir = `${BASE}/sbx-${id}`;
      expect(mounts().some((m) => m.startsWith(`overlay ${dir} overlay `))).toBe(true);
      // The stack serves the repo's files through the overlay (a bind mount of ./public).
      const endpoint = created.json.reachability.endpoints['web:8080'];
      expect((await (await fetch(`http://${endpoint}/`)).text()).trim()).toBe('hello from sand-boxer');
      // The sandbox changes a file of the repo, and removes another: the cache keeps both.
      const cache = readdirSync(`${BASE}/.sandboxer-cache`).find((n) => /^[0-9a-f]{16}$/.test(n)) as string;
      const cached = `${BASE}/.sandboxer-cache/${cache}`;
      const before = readFileSync(`${cached}/public/index.html`, 'utf8');
      const exec = sandboxer(
        ['exec', id, '--', 'sh', '-c', 'echo changed > public/index.html && rm docker-compose.yml'],
        env,
      );
      expect(exec.code, exec.stderr).toBe(0);
      expect(readFileSync(`${dir}/public/index.html`, 'utf8')).toBe('changed\n');
      expect(readFileSync(`${cached}/public/index.html`, 'utf8')).toBe(before);
      expect(existsSync(`${cached}/docker-compose.yml`)).toBe(true);
      // No spare copy is made for an overlay-filled sandbox: nothing to copy.
      const destroyed = sandboxer(['destroy', id, '--json'], env);
      expect(destroyed.code, destroyed.stderr).toBe(0);
      expect(projectResources(id)).toEqual([]);
      expect(mounts()).toEqual([]);
      expect(existsSync(dir)).toBe(false);
      expect(existsSync(`${BASE}/.sandboxer-layers/sbx-${id}`)).toBe(false);
      expect(existsSync(`${cached}.spare`)).toBe(false);
      console.log(`${round}: ${created.stderr.split('\n').find((l) => l.includes('synced')) ?? ''}`);
    }
  });
});
