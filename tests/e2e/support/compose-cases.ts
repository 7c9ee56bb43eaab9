import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { sandboxer } from './cli.js';
import type { Engine } from './engine.js';
import type { Testbed } from './testbed.js';

/**
 * The compose cases issue 21 asked for, written once and run on each runtime by its own file
 * (podman.itg.test.ts, compose-runtimes.itg.test.ts), so a failure says which runtime it was:
 * built images removed, an unhealthy dependency named with its probe's output, wait_timeout
 * bounding `up` and readiness together, and a create → use → destroy that leaves nothing.
 */

export interface RuntimeTarget {
  /** The compose command under test (SANDBOXER_COMPOSE_CMD). */
  compose: string;
  user: string;
  address: string;
  base: string;
  engine: Engine;
  /** Whether `up` itself waits for `depends_on: condition: service_healthy` (not podman-compose 1.0.3). */
  upWaitsForHealth: boolean;
}

export const fixtures = join(import.meta.dirname, '..', '..', 'fixtures');

/** A state home and a hosts file whose one host (`target`) is the target's. */
export function targetEnv(testbed: Testbed, t: RuntimeTarget): Record<string, string> {
  const home = mkdtempSync(join(tmpdir(), 'sbx-e2e-runtime-'));
  const hosts = join(home, 'hosts.yaml');
  writeFileSync(
    hosts,
    `default: target
hosts:
  target:
    address: ${t.address}
    port: ${testbed.port}
    user: ${t.user}
    identity_file: ${testbed.key}
    known_hosts: ${testbed.knownHosts}
    base_dir: ${t.base}
    capacity: 8
`,
  );
  return { SANDBOXER_HOME: home, SANDBOXER_HOSTS: hosts, SANDBOXER_COMPOSE_CMD: t.compose };
}

/** Images Compose built for one sandbox's project, as the engine lists them. */
export function builtImages(t: RuntimeTarget, id: string): string[] {
  return t.engine
    .run('images', '--format', '{{.Repository}}:{{.Tag}}')
    .filter((n) => new RegExp(`^(localhost/)?sbx-${id}[-_]`).test(n));
}

export function defineComposeCases(target: () => { t: RuntimeTarget; env: Record<string, string> }): void {
  const create = (fixture: string, ...inputs: string[]) => {
    const { env } = target();
    const args = ['create', '-p', 'compose-e2e', '-i', `repo=${join(fixtures, fixture)}`];
    for (const input of inputs) args.push('-i', input);
    const started = Date.now();
    const run = sandboxer([...args, '--json'], env);
    return { ...run, seconds: (Date.now() - started) / 1000 };
  };

  test('a build: service — its image is built, and removed by destroy', async () => {
    const { t, env } = target();
    const created = create('compose-build');
    expect(created.code, created.stderr).toBe(0);
    const id = created.json.id as string;
    expect(builtImages(t, id)).toHaveLength(1);
    const endpoint = created.json.reachability.endpoints['app:8080'];
    expect((await (await fetch(`http://${endpoint}/built.txt`)).text()).trim()).toBe('built by compose');
    const destroyed = sandboxer(['destroy', id, '--json'], env);
    expect(destroyed.code, destroyed.stderr).toBe(0);
    expect(builtImages(t, id)).toEqual([]);
  });

  test('an unhealthy dependency: the error names the service and shows its health checks and log', () => {
    const { t } = target();
    const created = create('compose-unhealthy-dependency', 'wait_timeout=20');
    expect(created.code).toBe(4);
    // The service, never a container id; what its probe printed; its log tail.
    expect(created.stderr).toMatch(/\bdb \((running, )?unhealthy\)/);
    expect(created.stderr).toContain('--- db: last health checks ---');
    expect(created.stderr).toContain('db: connection refused on port 5432');
    expect(created.stderr).toContain('--- db: last 20 log lines ---');
    expect(created.stderr).not.toMatch(/Container "[0-9a-f]{12}" is unhealthy/);
    if (t.upWaitsForHealth) expect(created.stderr).toContain('a dependency is unhealthy: db');
  });

  test('wait_timeout bounds compose up and readiness together (a dependency stuck starting)', () => {
    const created = create('compose-slow-dependency', 'wait_timeout=10');
    expect(created.code).toBe(4);
    // 10 s of budget, plus connecting, syncing, diagnosing and the rollback: far from up's old 15 min.
    expect(created.seconds).toBeLessThan(45);
    expect(created.stderr).toMatch(/wait_timeout/);
    expect(created.stderr).toMatch(/\bdb \(running, starting\)/);
    expect(created.stderr).toContain('db: still loading');
  });
}
