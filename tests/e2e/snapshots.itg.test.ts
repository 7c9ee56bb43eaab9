import { execFileSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { sandboxer } from './support/cli.js';
import { allSandboxLeftovers, projectResources } from './support/docker.js';
import { loadTestbed, type Testbed } from './support/testbed.js';

/**
 * Snapshots on the real testbed (issue 6): a stack that keeps a version in a named volume and in its
 * workspace; snapshot A, write B, restore as new (A) while the original serves B, restore in place
 * (A again), restore on the second host, and the refusals: corrupt artifact, destroyed sandbox,
 * deleted snapshot, a restore that fails half-way leaving nothing.
 */

const fixture = join(import.meta.dirname, '..', 'fixtures', 'compose-stateful');
/** The second host's base directory: its own, so a copy there is really a second copy. */
const HOST2_BASE = '/home/sbxtest/sandboxer-h2';
let testbed: Testbed;
let env: Record<string, string>;
const made: string[] = [];

function hostsFile(dir: string): string {
  const path = join(dir, 'hosts.yaml');
  const entry = (address: string, base: string) => `
    address: ${address}
    port: ${testbed.port}
    user: ${testbed.user}
    identity_file: ${testbed.key}
    known_hosts: ${testbed.knownHosts}
    base_dir: ${base}`;
  writeFileSync(
    path,
    `default: docker1\nhosts:\n  docker1:${entry(testbed.host1, testbed.sandboxBase)}\n  docker2:${entry(testbed.host2, HOST2_BASE)}\n`,
  );
  return path;
}

/** The stack's one container, by its compose project. */
function container(sandboxId: string): string {
  return execFileSync(
    'docker',
    ['ps', '-q', '--filter', `label=com.docker.compose.project=sbx-${sandboxId}`],
    { encoding: 'utf8' },
  ).trim();
}

/** Writes `version` into the volume and into the workspace, from inside the running service. */
function writeVersion(sandboxId: string, version: string): void {
  execFileSync('docker', [
    'exec',
    container(sandboxId),
    'sh',
    '-c',
    `echo ${version} > /srv/vol/version.txt && echo ${version} > /srv/ws/version.txt`,
  ]);
}

/** What the service serves from the volume and from the workspace, through the reported endpoint. */
async function served(record: { reachability: { endpoints: Record<string, string> } }): Promise<string> {
  const endpoint = record.reachability.endpoints['web:8080'];
  const read = async (path: string) => (await (await fetch(`http://${endpoint}${path}`)).text()).trim();
  return `${await read('/vol/version.txt')}/${await read('/ws/version.txt')}`;
}

function create(host = 'docker1') {
  const result = sandboxer(
    ['create', '-p', 'compose-checkpoint', '-i', `repo=${fixture}`, '--host', host, '--json'],
    env,
  );
  expect(result.code, result.stderr).toBe(0);
  made.push(result.json.id);
  return result.json;
}

/** The sandbox directories on the first host (the product's own dot-directories come and go). */
function sandboxDirs(): string[] {
  return readdirSync(testbed.sandboxBase).filter((name) => name.startsWith('sbx-'));
}

/** The engine's volumes, sorted: a rolled-back restore must leave none of its own. */
function engineVolumes(): string[] {
  return execFileSync('docker', ['volume', 'ls', '-q'], { encoding: 'utf8' })
    .split('\n')
    .filter(Boolean)
    .sort();
}

function liveIds(): string[] {
  return sandboxer(['list', '--json'], env).json.map((r: { id: string }) => r.id);
}

beforeAll(() => {
  testbed = loadTestbed();
  const home = mkdtempSync(join(tmpdir(), 'sbx-e2e-snap-'));
  env = { SANDBOXER_HOME: home, SANDBOXER_HOSTS: hostsFile(home), SANDBOXER_COMPOSE_CMD: 'docker-compose' };
});

afterAll(() => {
  // Every failure is named with its output: a leftover alone would not say which step left it.
  const failures: string[] = [];
  const run = (args: string[]) => {
    const result = sandboxer([...args, '-v'], env);
    if (result.code !== 0)
      failures.push(`sandboxer ${args.join(' ')}: exit ${result.code}: ${result.stderr}`);
  };
  for (const id of made) run(['destroy', id]);
  for (const s of sandboxer(['snapshot', 'list', '--json'], env).json ?? [])
    run(['snapshot', 'delete', s.id]);
  expect(failures).toEqual([]);
  expect(allSandboxLeftovers([testbed.sandboxBase, HOST2_BASE])).toEqual([]);
});

describe('snapshots of a compose stack on the real testbed', () => {
  let original: { id: string; reachability: { endpoints: Record<string, string> } };
  let snapshot: {
    id: string;
    sha256: string;
    size_bytes: number;
    paused_ms: number;
    locations: Array<{ kind: string; host?: string; path: string }>;
  };

  test('snapshot A, write B, restore as new → A while the original serves B', async () => {
    original = create();
    writeVersion(original.id, 'A');
    expect(await served(original)).toBe('A/A');

    const taken = sandboxer(['snapshot', 'create', original.id, '--name', 'version-a', '--json'], env);
    expect(taken.code, taken.stderr).toBe(0);
    snapshot = taken.json;
    expect(taken.json).toMatchObject({
      status: 'ready',
      sandbox_id: original.id,
      consistency: 'pause',
      contents: { workspace: true, volumes: [{ key: 'data', service: 'web', path: '/srv/vol' }] },
      locations: [{ kind: 'host', host: 'docker1' }],
    });
    expect(taken.json.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(taken.json.paused_ms).toBeGreaterThanOrEqual(0);
    // The services were resumed: the original still answers.
    expect(await served(original)).toBe('A/A');

    writeVersion(original.id, 'B');
    const restored = sandboxer(['restore', 'version-a', '--json'], env);
    expect(restored.code, restored.stderr).toBe(0);
    made.push(restored.json.id);
    expect(restored.json).toMatchObject({ state: 'ready', restored_from: snapshot.id, host: 'docker1' });
    expect(restored.json.id).not.toBe(original.id);
    expect(await served(restored.json)).toBe('A/A');
    expect(await served(original)).toBe('B/B');
  });

  test('restore in place → the original serves A again and keeps its id', async () => {
    const restored = sandboxer(['restore', snapshot.id, '--in-place', '--json'], env);
    expect(restored.code, restored.stderr).toBe(0);
    expect(restored.json).toMatchObject({ id: original.id, state: 'ready', restored_from: snapshot.id });
    expect(await served(restored.json)).toBe('A/A');
    original = restored.json; // recreated containers publish new ports
  });

  test('restore on the second host of a snapshot taken on the first', async () => {
    const restored = sandboxer(['restore', snapshot.id, '--host', 'docker2', '--json', '-v'], env);
    expect(restored.code, restored.stderr).toBe(0);
    made.push(restored.json.id);
    expect(restored.json).toMatchObject({ host: 'docker2', state: 'ready' });
    expect(restored.json.reachability.remote_dir).toBe(`${HOST2_BASE}/sbx-${restored.json.id}`);
    expect(restored.stderr).toMatch(/pulling snapshot/);
    expect(restored.stderr).toMatch(/uploading snapshot .* to docker2/);
    expect(await served(restored.json)).toBe('A/A');
    const shown = sandboxer(['snapshot', 'show', snapshot.id, '--json'], env).json;
    expect(shown.locations.map((l: { kind: string; host?: string }) => l.host ?? l.kind).sort()).toEqual([
      'docker1',
      'docker2',
      'local',
    ]);
  });

  test('a corrupted artifact is refused with a clear error and nothing is made or changed', async () => {
    const onHost = snapshot.locations[0]?.path as string;
    const before = liveIds();
    const dirs = sandboxDirs();
    appendFileSync(onHost, 'tampered');
    try {
      const refused = sandboxer(['restore', snapshot.id], env);
      expect(refused.code).toBe(10);
      expect(refused.stderr).toMatch(/is corrupt \(sha256 .*, expected .*\); nothing was restored/);
      const inPlace = sandboxer(['restore', snapshot.id, '--in-place'], env);
      expect(inPlace.code).toBe(10);
      expect(liveIds()).toEqual(before);
      expect(sandboxDirs()).toEqual(dirs);
      expect(await served(original)).toBe('A/A');
    } finally {
      execFileSync('truncate', ['-s', String(snapshot.size_bytes), onHost]);
    }
    expect(sandboxer(['restore', snapshot.id, '--in-place'], env).code).toBe(0);
  });

  test('a member corrupted inside the artifact: a new restore finds it while extracting and rolls back; in place refuses up front', async () => {
    // Format 2 (the artifact's members back to back, then an index and a footer): the recorded
    // digest pins the index, which pins each member's sha256, checked as the member is streamed.
    const onHost = snapshot.locations[0]?.path as string;
    const pristine = readFileSync(onHost);
    const length = Number(
      /^sandboxer-index (\d{15})\n$/.exec(pristine.subarray(-32).toString('latin1'))?.[1],
    );
    const index = pristine.subarray(-32 - length, -32).toString('latin1');
    const line = index.split('\n').find((l) => l.startsWith('volumes/')) as string;
    const [name, offset, size] = line.split(' ') as [string, string, string];
    const bad = Buffer.from(pristine);
    const at = Number(offset) + Math.floor(Number(size) / 2);
    bad[at] = (bad[at] as number) ^ 0xff;
    const before = liveIds();
    const dirs = sandboxDirs();
    const volumes = engineVolumes();
    writeFileSync(onHost, bad);
    try {
      const refused = sandboxer(['restore', snapshot.id], env);
      expect(refused.code, refused.stderr).toBe(10);
      expect(refused.stderr).toContain(
        `snapshot ${snapshot.id}: artifact ${onHost} is corrupt (member ${name}: sha256 `,
      );
      expect(refused.stderr).toMatch(/; nothing was restored/);
      expect(liveIds()).toEqual(before);
      expect(sandboxDirs()).toEqual(dirs);
      expect(engineVolumes()).toEqual(volumes);
      const inPlace = sandboxer(['restore', snapshot.id, '--in-place'], env);
      expect(inPlace.code).toBe(10);
      expect(inPlace.stderr).toContain(`is corrupt (member ${name}: sha256 `);
      // The previous test's in-place restore recreated the stack: its endpoint is read afresh.
      expect(await served(sandboxer(['status', original.id, '--json'], env).json)).toBe('A/A');
    } finally {
      writeFileSync(onHost, pristine);
    }
  });

  test('a restore that fails half-way leaves no half-made sandbox', () => {
    const before = liveIds();
    const dirs = sandboxDirs();
    // Fails after the artifact was checked and the workspace unpacked: reading its compose model.
    const failed = sandboxer(['restore', snapshot.id, '-i', 'services=nope', '--json'], env);
    expect(failed.code).toBe(4);
    expect(failed.stderr).toMatch(
      /restore failed: input "services": nope not in the compose files .*rolled back/s,
    );
    const failedId = failed.json.error.details.sandbox as string;
    expect(sandboxer(['status', failedId, '--json'], env).json.state).toBe('failed');
    expect(projectResources(failedId)).toEqual([]);
    expect(liveIds()).toEqual(before);
    expect(sandboxDirs()).toEqual(dirs);
  });

  test('snapshot of a destroyed sandbox, and restore of a deleted snapshot, give clear errors', () => {
    const doomed = create();
    expect(sandboxer(['destroy', doomed.id], env).code).toBe(0);
    const refused = sandboxer(['snapshot', 'create', doomed.id], env);
    expect(refused.code).toBe(6);
    expect(refused.stderr).toContain(
      `sandbox ${doomed.id} is destroyed: only a ready sandbox can be snapshotted`,
    );

    const deleted = sandboxer(['snapshot', 'delete', 'version-a', '--json'], env);
    expect(deleted.code, deleted.stderr).toBe(0);
    expect(deleted.json).toMatchObject({ status: 'deleted', locations: [] });
    for (const location of snapshot.locations) expect(existsSync(location.path)).toBe(false);
    expect(readdirSync(join(HOST2_BASE, '.sandboxer-snapshots'))).toEqual([]);
    const gone = sandboxer(['restore', 'version-a'], env);
    expect(gone.code).toBe(6);
    expect(gone.stderr).toMatch(
      /snapshot snap-\w+ is deleted \(deleted at .*\): only a ready snapshot can be used/,
    );
  });
});
