import { spawn, spawnSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import { InputError } from '../../src/errors.js';
import { composeRuntime } from '../../src/extensions/builtin/compose-ssh/commands.js';
import { SHA256_FUNCTION } from '../../src/extensions/builtin/compose-ssh/hash-command.js';
import {
  type ArtifactLayout,
  CORRUPT_MEMBER_EXIT,
  extractVerifiedCommand,
  memberChecksumsCommand,
  parseExtractOutput,
  probeArtifactCommand,
  restoreVolumeCommand,
  restoreWorkspaceCommand,
} from '../../src/extensions/builtin/compose-ssh/restore-commands.js';
import {
  artifactPathOf,
  type CaptureScript,
  captureScript,
  deleteArtifactCommand,
  parseCaptureOutput,
  receiveArtifactCommand,
  snapshotDirOf,
  type VolumeMount,
} from '../../src/extensions/builtin/compose-ssh/snapshot-commands.js';
import { MARKER_FILE } from '../../src/extensions/builtin/remote-workspace/workspace.js';
import { artifactDigest } from '../../src/util/artifact-digest.js';
import { sha256File } from '../../src/util/sha256-file.js';
import {
  FOOTER_BYTES,
  type IndexMember,
  indexDigest,
  indexLengthOf,
  parseSnapshotIndex,
} from '../../src/util/snapshot-index.js';
import { tempDir } from '../support/fixtures.js';
import { hostileValues } from './fake-bin.js';
import { CACHE, DB, ID_A, ID_B, type Rig, rig, volumes, workspace } from './fake-docker.js';

const SNAP = 'snap-abc123def456';
const docker = composeRuntime('docker compose');
const podman = composeRuntime('podman-compose');
const hostileRows = hostileValues('<marker>');
const withMarker = (value: string, marker: string) => value.replaceAll('<marker>', marker);
const sha256 = /^[0-9a-f]{64}$/;

interface Captured {
  r: Rig;
  base: string;
  ws: string;
  artifact: string;
  manifest: string;
  result: { stdout: string; stderr: string; status: number };
}

/** Sets up a workspace and volumes and runs the real capture script against them. */
function capture(overrides: Partial<CaptureScript> = {}, setup: (r: Rig) => void = () => {}): Captured {
  const r = rig();
  const base = join(r.root, 'base');
  const ws = workspace(join(base, 'sbx-abc123def456'));
  writeFileSync(join(r.root, 'ws-path'), ws);
  volumes(r);
  setup(r);
  const artifact = artifactPathOf(base, SNAP);
  const manifest = `${JSON.stringify({ format: 1, snapshot_id: SNAP })}\n`;
  const script = captureScript({
    runtime: docker,
    containers: [ID_A, ID_B],
    consistency: 'pause',
    stopTimeout: 10,
    workspaceDir: ws,
    volumes: [DB, CACHE],
    artifact,
    ...overrides,
  });
  return { r, base, ws, artifact, manifest, result: r.run(script, manifest) };
}

/** A format 2 artifact's index text and members, read from its end as a restore does. */
function indexOf(file: string): { text: string; members: IndexMember[] } {
  const bytes = readFileSync(file);
  const length = indexLengthOf(bytes.subarray(-FOOTER_BYTES).toString('latin1'));
  if (length === undefined) throw new Error(`${file} has no format 2 footer`);
  const text = bytes.subarray(-FOOTER_BYTES - length, -FOOTER_BYTES).toString('latin1');
  const members = parseSnapshotIndex(text);
  if (typeof members === 'string') throw new Error(members);
  return { text, members };
}

/** One member's bytes out of a format 2 artifact. */
function memberBytes(file: string, name: string): Buffer {
  const member = indexOf(file).members.find((m) => m.name === name);
  if (!member) throw new Error(`no member ${name}`);
  return readFileSync(file).subarray(member.offset, member.offset + member.size);
}

/** The members' names of a format 2 artifact; or, given a member, the listing of that inner tar. */
function members(file: string, member?: string): string[] {
  if (!member) return indexOf(file).members.map((m) => m.name);
  const listing = spawnSync('tar', ['-tf', '-'], { input: memberBytes(file, member), encoding: 'utf8' });
  return listing.stdout.split('\n').filter(Boolean).sort();
}

/** The same members as one format 1 tar (what earlier versions wrote), to prove it still restores. */
function asFormat1(file: string, root: string): string {
  const stage = join(root, 'format1-stage');
  mkdirSync(join(stage, 'volumes'), { recursive: true });
  for (const name of members(file)) writeFileSync(join(stage, name), memberBytes(file, name));
  const out = join(root, 'format1.tar');
  const names = ls(stage).filter((n) => n !== 'volumes');
  const result = spawnSync('tar', ['-C', stage, '-cf', out, ...names, 'volumes'], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(result.stderr);
  return out;
}

/** What restoreWorkspaceCommand/restoreVolumeCommand take for one member of `file`. */
function layoutFor(file: string, name: string): { format: 1 } | { format: 2; member: IndexMember } {
  if (!file.endsWith(`${SNAP}.tar`)) return { format: 1 };
  const member = indexOf(file).members.find((m) => m.name === name);
  if (!member) throw new Error(`no member ${name}`);
  return { format: 2, member };
}

/** Files directly in `dir`, sorted. */
const ls = (dir: string) => readdirSync(dir).sort();

describe('snapshotDirOf and artifactPathOf', () => {
  test.each([
    ['/srv/sandboxer', SNAP, `/srv/sandboxer/.sandboxer-snapshots/${SNAP}.tar`],
    [
      '/home/ci/sandboxer',
      'snap-000000000000',
      '/home/ci/sandboxer/.sandboxer-snapshots/snap-000000000000.tar',
    ],
    ['/base with space', SNAP, `/base with space/.sandboxer-snapshots/${SNAP}.tar`],
  ])('%s + %s → %s', (base, id, path) => {
    expect(artifactPathOf(base, id)).toBe(path);
    // Never shaped like a sandbox directory, so a sweep of `sbx-*` cannot take it for one.
    expect(snapshotDirOf(base)).not.toMatch(/\/sbx-[^/]*$/);
  });

  test.each([
    [''],
    ['snap-'],
    ['snap-abc'],
    ['snap-ABC123DEF456'],
    ['snap-abc123def4567'],
    ['abc123def456'],
    ['../snap-abc123def456'],
    [`${SNAP}/../../etc/passwd`],
    [`${SNAP}\n`],
    [`${SNAP}.tar`],
    ['snap-abc123def45/'],
    ...hostileRows.map(([, value]) => [withMarker(value, '/tmp/pwned')] as [string]),
  ])('refuses the snapshot id %j', (id) => {
    expect(() => artifactPathOf('/srv/sandboxer', id)).toThrow(InputError);
    expect(() => artifactPathOf('/srv/sandboxer', id)).toThrow('refusing unexpected snapshot id');
  });

  test.each([['relative/base'], ['/'], ['/srv/../etc'], ['/srv/./x'], ['/srv\nx'], ['']])(
    'refuses the base %j',
    (base) => {
      expect(() => snapshotDirOf(base)).toThrow(InputError);
      expect(() => artifactPathOf(base, SNAP)).toThrow(InputError);
    },
  );
});

describe('captureScript: refusals', () => {
  const valid: CaptureScript = {
    runtime: docker,
    containers: [ID_A],
    consistency: 'pause',
    stopTimeout: 10,
    workspaceDir: '/srv/sbx-abc123def456',
    volumes: [DB],
    artifact: `/srv/.sandboxer-snapshots/${SNAP}.tar`,
  };

  test('the valid base case builds', () => {
    expect(captureScript(valid)).toContain(`docker pause ${ID_A} >/dev/null`);
  });

  test.each([
    ['short', 'abc123'],
    ['upper case', ID_A.toUpperCase()],
    ['too long', `${ID_A}0`],
    ['a name', 'sbx-abc123def456-db-1'],
    ['empty', ''],
    ['trailing newline', `${ID_B}\n`],
    ...hostileRows.map(([name, value]) => [name, withMarker(value, '/tmp/pwned')] as [string, string]),
  ])('a container id (%s) is refused, as a running container and as a volume holder', (_name, id) => {
    expect(() => captureScript({ ...valid, containers: [ID_B, id] })).toThrow(InputError);
    expect(() => captureScript({ ...valid, volumes: [{ ...DB, containerId: id }] })).toThrow(
      'not a container id',
    );
  });

  test.each([
    [''],
    ['.hidden'],
    ['-rf'],
    ['_x'],
    ['../db'],
    ['db/data'],
    ['db data'],
    ['db\ndata'],
    ['db$(id)'],
    ['db;id'],
  ])('a volume key %j is refused', (key) => {
    expect(() => captureScript({ ...valid, volumes: [{ ...DB, key }] })).toThrow(
      `not a compose volume name: ${JSON.stringify(key)}`,
    );
  });

  test.each([
    ['data'],
    ['/'],
    [''],
    ['/var/../etc'],
    ['/var/./lib'],

    ['//var/lib'],
    ['~/data'],
  ])('a mount path %j is refused', (path) => {
    expect(() => captureScript({ ...valid, volumes: [{ ...DB, path }] })).toThrow('is not absolute');
  });

  test('stop consistency stops with the timeout and starts again; podman is used for podman runtimes', () => {
    const script = captureScript({ ...valid, runtime: podman, consistency: 'stop', stopTimeout: 7 });
    expect(script).toContain(`podman stop -t 7 ${ID_A} >/dev/null`);
    expect(script).toContain(`resume() { podman start ${ID_A} >/dev/null 2>&1 || true; }`);
    expect(script).toContain(`podman cp ${ID_A}:/var/lib/postgresql/data -`);
    expect(script).not.toContain('docker');
  });
});

describe('captureScript, run for real against a fake docker', () => {
  test('pauses, captures workspace and volumes while paused, resumes, and prints what parseCaptureOutput reads', async () => {
    const { r, base, ws, artifact, manifest, result } = capture();
    expect(result.status, result.stderr).toBe(0);
    expect(r.calls()).toEqual([
      ['pause', ID_A, ID_B],
      ['cp', `${ID_A}:/var/lib/postgresql/data`, '-'],
      ['cp', `${ID_B}:/data`, '-'],
      ['unpause', ID_A, ID_B],
    ]);
    const parsed = parseCaptureOutput(result.stdout);
    // Format 2: the recorded digest is the index's, and every member hashes to what it says.
    expect(parsed.sha256).toBe(indexDigest(indexOf(artifact).text));
    expect(await artifactDigest(artifact)).toEqual({ digest: parsed.sha256 });
    expect(parsed.size).toBe(statSync(artifact).size);
    expect(parsed.pausedMs).toBeGreaterThanOrEqual(0);
    expect(statSync(artifact).mode & 0o777).toBe(0o600);
    // Nothing but the artifact is left: no staging directory, no partial file.
    expect(ls(snapshotDirOf(base))).toEqual([`${SNAP}.tar`]);
    expect(existsSync(join(ws, 'PAUSED'))).toBe(false);

    expect(members(artifact)).toEqual([
      'manifest.json',
      'workspace.tar',
      'volumes/db-data.tar',
      'volumes/cache.tar',
    ]);
    expect(memberBytes(artifact, 'manifest.json').toString('utf8')).toBe(manifest);
    // PAUSED proves the workspace was read between pause and unpause; marker and labels file stay out.
    expect(members(artifact, 'workspace.tar')).toEqual([
      './',
      './PAUSED',
      './docker-compose.yml',
      './src/',
      './src/app.txt',
      './sub/',
      `./sub/${MARKER_FILE}`,
    ]);
    expect(members(artifact, 'volumes/db-data.tar')).toEqual(['data/', 'data/VERSION']);
    expect(members(artifact, 'volumes/cache.tar')).toEqual(['data/', 'data/VERSION']);
  });

  test('without containers, volumes or workspace: nothing is paused and the artifact holds only what was asked', () => {
    const { r, artifact, result } = capture({ containers: [], volumes: [], workspaceDir: undefined });
    expect(result.status, result.stderr).toBe(0);
    expect(r.calls()).toEqual([]);
    expect(members(artifact)).toEqual(['manifest.json']);
  });

  test('stop consistency: stop -t before the capture, start after', () => {
    const { r, result, artifact } = capture({ consistency: 'stop', stopTimeout: 3 });
    expect(result.status, result.stderr).toBe(0);
    expect(r.calls()[0]).toEqual(['stop', '-t', '3', ID_A, ID_B]);
    expect(r.order()).toEqual(['stop', 'cp', 'cp', 'start']);
    expect(members(artifact, 'workspace.tar')).toContain('./PAUSED');
  });

  test.each([
    ['a volume copy fails', {}, 'fail-cp', ['pause', 'cp', 'unpause']],
    [
      'the workspace cannot be read',
      { workspaceDir: '/nonexistent/sbx-abc123def456' },
      '',
      ['pause', 'unpause'],
    ],
    ['pause itself fails', {}, 'fail-pause', ['pause', 'unpause']],
  ] as const)(
    '%s: the script fails, services are resumed, nothing is left but the workspace',
    (_n, overrides, flag, order) => {
      const { r, base, ws, artifact, result } = capture(overrides, (rig) => {
        if (flag) writeFileSync(join(rig.root, flag), '');
      });
      expect(result.status).not.toBe(0);
      expect(r.order()).toEqual(order);
      expect(existsSync(artifact)).toBe(false);
      expect(ls(snapshotDirOf(base))).toEqual([]); // no .stage directory, no .partial file
      expect(existsSync(join(ws, 'PAUSED'))).toBe(false);
      expect(() => parseCaptureOutput(result.stdout)).toThrow('unexpected output from the snapshot script');
    },
  );

  test('a hang-up mid-capture (dropped SSH connection) still resumes the services and cleans up', async () => {
    const r = rig();
    const base = join(r.root, 'base');
    const ws = workspace(join(base, 'sbx-abc123def456'));
    writeFileSync(join(r.root, 'ws-path'), ws);
    volumes(r);
    writeFileSync(join(r.root, 'slow-cp'), '');
    const artifact = artifactPathOf(base, SNAP);
    const script = captureScript({
      runtime: docker,
      containers: [ID_A],
      consistency: 'pause',
      stopTimeout: 10,
      workspaceDir: ws,
      volumes: [DB],
      artifact,
    });
    const child = spawn('sh', ['-c', script], { cwd: r.root, env: r.fake.env() });
    child.stdin.end('{}\n');
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const started = join(r.root, 'cp-started');
    for (let i = 0; i < 200 && !existsSync(started); i++) await new Promise((res) => setTimeout(res, 10));
    expect(existsSync(started)).toBe(true);
    child.kill('SIGHUP');
    expect(await exited).toBe(129);
    expect(r.order()).toEqual(['pause', 'cp', 'unpause']);
    expect(existsSync(join(ws, 'PAUSED'))).toBe(false);
    expect(ls(snapshotDirOf(base))).toEqual([]);
  });

  test('every hostile value at once, in the base, the sandbox directory and the mount paths, stays data', () => {
    // One run for all values (a capture costs ~20 processes): the base nests every value as a path
    // component, and each value is also the last component of its own volume's mount path.
    const r = rig();
    const values = hostileRows.map(([, raw]) => withMarker(raw, r.fake.marker));
    const base = join(r.root, ...values.map((v) => `b ${v}`));
    const ws = workspace(join(base, 'sbx-abc123def456'));
    writeFileSync(join(r.root, 'ws-path'), ws);
    const mounts: VolumeMount[] = values.map((v, i) => ({
      ...DB,
      key: `v${i}`,
      path: join('/data', `v ${v}`),
    }));
    volumes(r, mounts);
    const artifact = artifactPathOf(base, SNAP);
    const result = r.run(
      captureScript({
        runtime: docker,
        containers: [ID_A],
        consistency: 'pause',
        stopTimeout: 10,
        workspaceDir: ws,
        volumes: mounts,
        artifact,
      }),
      '{}\n',
    );
    expect(result.status, result.stderr).toBe(0);
    expect(r.fake.pwned()).toEqual([]);
    expect(r.calls().slice(1, -1)).toEqual(mounts.map((m) => ['cp', `${ID_A}:${m.path}`, '-']));
    expect(members(artifact).filter((m) => m.startsWith('volumes/v'))).toHaveLength(values.length);
    expect(members(artifact, 'workspace.tar')).toContain('./src/app.txt');
    expect(ls(snapshotDirOf(base))).toEqual([`${SNAP}.tar`]);
  });
});

describe('parseCaptureOutput', () => {
  const sum = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

  test.each([
    [`paused_ms=12\n${sum}\n4096\n`, { pausedMs: 12, sha256: sum, size: 4096 }],
    [`paused_ms=0\n${sum}\n0`, { pausedMs: 0, sha256: sum, size: 0 }],
    // Anything a login shell prints first is ignored.
    [`motd line\npaused_ms=7\n${sum}\n10\n\n`, { pausedMs: 7, sha256: sum, size: 10 }],
  ])('%j', (output, parsed) => {
    expect(parseCaptureOutput(output)).toEqual(parsed);
  });

  test.each([
    [''],
    [`${sum}\n10\n`],
    [`paused_ms=\n${sum}\n10\n`],
    [`paused_ms=-1\n${sum}\n10\n`],
    [`paused_ms=1\n${sum.slice(1)}\n10\n`],
    [`paused_ms=1\n${sum.toUpperCase()}\n10\n`],
    [`paused_ms=1\n${sum}\n10 bytes\n`],
    [`paused_ms=1\n${sum}\n`],
    [`paused_ms=1\n10\n${sum}\n`],
    [`paused_ms=1\n${sum}  -\n10\n`],
  ])('refuses %j', (output) => {
    expect(() => parseCaptureOutput(output)).toThrow('unexpected output from the snapshot script');
  });
});

describe('artifact commands, run for real', () => {
  test('probeArtifactCommand: `missing`, format 1 with its whole sha256, or format 2 with its index', async () => {
    const r = rig();
    const file = join(r.root, 'a.tar');
    writeFileSync(file, 'content');
    expect(r.run(probeArtifactCommand(file)).stdout).toBe(`format 1\n${await sha256File(file)}\n`);
    expect(r.run(probeArtifactCommand(join(r.root, 'nope.tar')))).toMatchObject({
      stdout: 'missing\n',
      status: 0,
    });
    // A directory in its place is not an artifact either.
    expect(r.run(probeArtifactCommand(r.root)).stdout).toBe('missing\n');
    const { artifact, result } = capture();
    const probe = r.run(probeArtifactCommand(artifact)).stdout;
    expect(probe).toBe(`format 2\n${indexOf(artifact).text}`);
    expect(indexDigest(indexOf(artifact).text)).toBe(parseCaptureOutput(result.stdout).sha256);
  });

  test('memberChecksumsCommand prints each member’s sha256 (a full check reads the data once)', () => {
    const { r, artifact } = capture();
    const { members: all } = indexOf(artifact);
    expect(r.run(memberChecksumsCommand(artifact, all)).stdout).toBe(
      `${all.map((m) => m.sha256).join('\n')}\n`,
    );
  });

  test('receiveArtifactCommand writes stdin into place (private, via a partial file) and replaces an old copy', () => {
    const r = rig();
    const artifact = artifactPathOf(join(r.root, 'base'), SNAP);
    for (const content of ['first upload', 'second upload']) {
      const result = r.run(receiveArtifactCommand(artifact), content);
      expect(result.status, result.stderr).toBe(0);
      expect(readFileSync(artifact, 'utf8')).toBe(content);
    }
    expect(statSync(artifact).mode & 0o777).toBe(0o600);
    expect(ls(snapshotDirOf(join(r.root, 'base')))).toEqual([`${SNAP}.tar`]);
  });

  test('an upload cut off half-way never appears as the artifact', async () => {
    const r = rig();
    const artifact = artifactPathOf(join(r.root, 'base'), SNAP);
    const child = spawn('sh', ['-c', receiveArtifactCommand(artifact)], { env: r.fake.env() });
    const exited = new Promise<NodeJS.Signals | null>((resolve) =>
      child.on('exit', (_c, signal) => resolve(signal)),
    );
    child.stdin.write('half of it');
    for (let i = 0; i < 200 && !existsSync(`${artifact}.partial`); i++) {
      await new Promise((res) => setTimeout(res, 10));
    }
    child.kill('SIGHUP'); // what sshd sends when the connection drops
    child.stdin.end();
    expect(await exited).toBe('SIGHUP');
    await new Promise((res) => setTimeout(res, 50));
    expect(existsSync(artifact)).toBe(false);
    // deleteArtifactCommand removes what is left, and succeeds when there is nothing.
    expect(r.run(deleteArtifactCommand(artifact)).status).toBe(0);
    expect(ls(snapshotDirOf(join(r.root, 'base')))).toEqual([]);
    expect(r.run(deleteArtifactCommand(artifact)).status).toBe(0);
  });

  test('deleteArtifactCommand removes the artifact and its partial file, nothing else', () => {
    const r = rig();
    const base = join(r.root, 'base');
    const artifact = artifactPathOf(base, SNAP);
    const other = artifactPathOf(base, 'snap-000000000000');
    mkdirSync(snapshotDirOf(base), { recursive: true });
    for (const file of [artifact, `${artifact}.partial`, other]) writeFileSync(file, 'x');
    expect(r.run(deleteArtifactCommand(artifact)).status).toBe(0);
    expect(ls(snapshotDirOf(base))).toEqual(['snap-000000000000.tar']);
  });

  test.each(hostileRows)(
    '%s in the path: receive, probe and delete stay on that one file',
    async (_n, raw) => {
      const r = rig();
      const value = withMarker(raw, r.fake.marker);
      const artifact = artifactPathOf(join(r.root, `base ${value}`), SNAP);
      mkdirSync(join(r.root, 'sibling'));
      expect(r.run(receiveArtifactCommand(artifact), 'payload').status).toBe(0);
      expect(readFileSync(artifact, 'utf8')).toBe('payload');
      const probe = r.run(probeArtifactCommand(artifact)).stdout;
      expect(probe).toBe(`format 1\n${await sha256File(artifact)}\n`);
      expect(r.run(deleteArtifactCommand(artifact)).status).toBe(0);
      expect(existsSync(artifact)).toBe(false);
      expect(ls(r.root)).toContain('sibling');
      expect(r.fake.pwned()).toEqual([]);
    },
  );

  // sha256sum reads stdin: with a file name GNU sha256sum escapes its line for a backslash.
  test('a base directory with a backslash is checksummed correctly', async () => {
    const r = rig();
    const base = join(r.root, 'ci\\builds');
    const artifact = artifactPathOf(base, SNAP);
    r.run(receiveArtifactCommand(artifact), 'payload');
    const expected = await sha256File(artifact);
    const captured = capture({ artifact: artifactPathOf(base, 'snap-000000000000') });
    expect(captured.result.status, captured.result.stderr).toBe(0);
    expect(r.run(probeArtifactCommand(artifact)).stdout).toBe(`format 1\n${expected}\n`); // not `\<hash>`
    expect(parseCaptureOutput(captured.result.stdout).sha256).toMatch(sha256);
  });
});

/** A live sandbox directory whose content changed since the snapshot. */
function changed(dir: string): string {
  mkdirSync(join(dir, 'src'), { recursive: true });
  writeFileSync(join(dir, MARKER_FILE), '{"sandbox_id":"abc123def456","live":true}\n');
  writeFileSync(join(dir, 'src', 'app.txt'), 'changed\n');
  writeFileSync(join(dir, 'new.txt'), 'new\n');
  writeFileSync(join(dir, '.env'), 'SECRET=1\n');
  writeFileSync(join(dir, '-rf'), '');
  writeFileSync(join(dir, 'with space'), '');
  return dir;
}

// Format 2 is what captures write; format 1 is what earlier versions wrote, and must still restore.
describe.each([2, 1] as const)('restore commands, run for real against a format %i artifact', (format) => {
  let artifact: string;
  beforeAll(() => {
    const full = capture();
    expect(full.result.status, full.result.stderr).toBe(0);
    artifact = format === 2 ? full.artifact : asFormat1(full.artifact, full.r.root);
  });
  const workspaceOf = (file: string) => layoutFor(file, 'workspace.tar');
  const volumeOf = (file: string, key: string) => layoutFor(file, `volumes/${key}.tar`);
  /** Format 2 prints the member's checksum; it must be the one in the index. */
  function expectVerified(stdout: string, file: string, name: string): void {
    if (format === 1) return;
    const layout = layoutFor(file, name) as { member: IndexMember };
    expect(parseExtractOutput(stdout)).toBe(layout.member.sha256);
  }

  test('clearFirst keeps only the marker (untouched), then unpacks the workspace', () => {
    const r = rig();
    const dir = changed(join(r.root, 'sbx-abc123def456'));
    const marker = readFileSync(join(dir, MARKER_FILE), 'utf8');
    const result = r.run(restoreWorkspaceCommand(artifact, workspaceOf(artifact), dir, true));
    expect(result.status, result.stderr).toBe(0);
    expectVerified(result.stdout, artifact, 'workspace.tar');
    expect(ls(dir)).toEqual(['PAUSED', MARKER_FILE, 'docker-compose.yml', 'src', 'sub'].sort());
    expect(readFileSync(join(dir, 'src', 'app.txt'), 'utf8')).toBe('app\n');
    expect(readFileSync(join(dir, MARKER_FILE), 'utf8')).toBe(marker);
    expect(r.calls()).toEqual([]);
  });

  test('without clearFirst (a new sandbox) the workspace is unpacked over what is there', () => {
    const r = rig();
    const dir = join(r.root, 'sbx-abc123def456');
    mkdirSync(dir);
    writeFileSync(join(dir, MARKER_FILE), 'new marker\n');
    const result = r.run(restoreWorkspaceCommand(artifact, workspaceOf(artifact), dir, false));
    expect(result.status, result.stderr).toBe(0);
    expectVerified(result.stdout, artifact, 'workspace.tar');
    expect(ls(dir)).toEqual(['PAUSED', MARKER_FILE, 'docker-compose.yml', 'src', 'sub'].sort());
    expect(readFileSync(join(dir, MARKER_FILE), 'utf8')).toBe('new marker\n');
  });

  test('restoreVolumeCommand streams the volume into the container at the mount parent', () => {
    const r = rig();
    const result = r.run(
      restoreVolumeCommand(docker, artifact, volumeOf(artifact, DB.key), { ...DB, containerId: ID_B }),
    );
    expect(result.status, result.stderr).toBe(0);
    expectVerified(result.stdout, artifact, `volumes/${DB.key}.tar`);
    expect(r.calls()).toEqual([['cp', '-', `${ID_B}:/var/lib/postgresql`]]);
    const restored = join(r.root, 'restored', ID_B, 'var/lib/postgresql/data');
    expect(readFileSync(join(restored, 'VERSION'), 'utf8')).toBe('db-data\n');
    // Podman 4.3's `cp C:/data -` names its entries `/…` (recorded on the testbed): into the mount.
    expect(restoreVolumeCommand(podman, artifact, volumeOf(artifact, CACHE.key), CACHE)).toContain(
      `podman cp - ${ID_B}:/data`,
    );
  });

  test('every hostile value at once in the artifact and directory paths: restores stay data', () => {
    // One path for all values (a restore costs a dozen processes); the per-value table is above.
    const r = rig();
    const values = hostileRows.map(([, raw]) => withMarker(raw, r.fake.marker));
    const base = join(r.root, ...values.map((v) => `b ${v}`));
    const copy = artifactPathOf(base, SNAP);
    mkdirSync(snapshotDirOf(base), { recursive: true });
    copyFileSync(artifact, copy);
    const layout = (name: string) => (format === 2 ? layoutFor(artifact, name) : ({ format: 1 } as const));
    const dir = changed(join(base, 'sbx-abc123def456'));
    mkdirSync(join(r.root, 'sibling'));
    const result = r.run(restoreWorkspaceCommand(copy, layout('workspace.tar'), dir, true));
    expect(result.status, result.stderr).toBe(0);
    expect(ls(dir)).toEqual(['PAUSED', MARKER_FILE, 'docker-compose.yml', 'src', 'sub'].sort());
    expect(r.run(restoreVolumeCommand(docker, copy, layout('volumes/cache.tar'), CACHE)).status).toBe(0);
    expect(r.run(probeArtifactCommand(copy)).stdout).toMatch(format === 2 ? /^format 2\n/ : /^format 1\n/);
    expect(ls(r.root)).toContain('sibling');
    expect(r.fake.pwned()).toEqual([]);
  });
});

describe('format 1 restore commands: a missing member fails before anything changes', () => {
  /** A format 1 artifact without workspace.tar nor volumes (a volumes-only capture of no volume). */
  let volumesOnly: string;
  beforeAll(() => {
    const bare = capture({ workspaceDir: undefined, volumes: [] });
    expect(bare.result.status, bare.result.stderr).toBe(0);
    volumesOnly = asFormat1(bare.artifact, bare.r.root);
  });

  test('a missing workspace.tar fails the command instead of unpacking nothing', () => {
    const r = rig();
    const dir = join(r.root, 'sbx-abc123def456');
    mkdirSync(dir);
    writeFileSync(join(dir, 'keep'), '');
    const result = r.run(restoreWorkspaceCommand(volumesOnly, { format: 1 }, dir, false));
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain('workspace.tar');
    expect(ls(dir)).toEqual(['keep']);
  });

  test('with clearFirst, a missing member fails before anything is deleted', () => {
    const r = rig();
    const dir = changed(join(r.root, 'sbx-abc123def456'));
    const before = ls(dir);
    const result = r.run(restoreWorkspaceCommand(volumesOnly, { format: 1 }, dir, true));
    expect(result.status).not.toBe(0);
    expect(ls(dir)).toEqual(before);
  });

  test('a volume missing from the artifact fails before the engine is called', () => {
    const r = rig();
    const result = r.run(restoreVolumeCommand(docker, volumesOnly, { format: 1 }, DB));
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain('volumes/db-data.tar');
    expect(r.calls()).toEqual([]);
  });
});

describe('SHA256_FUNCTION', () => {
  test.each([
    ['with OpenSSL (the CPU’s SHA instructions)', true],
    ['without it: coreutils sha256sum', false],
  ])('%s prints the hex sha256 of stdin', (_n, withOpenssl) => {
    const bin = join(tempDir(), 'bin');
    mkdirSync(bin);
    const tools = ['sha256sum', 'cut', ...(withOpenssl ? ['openssl'] : [])];
    for (const tool of tools) {
      const found = spawnSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).stdout.trim();
      symlinkSync(found, join(bin, tool));
    }
    const script = `${SHA256_FUNCTION}\ncommand -v openssl >/dev/null && echo openssl; printf abc | sha256hex`;
    const result = spawnSync('/bin/sh', ['-c', script], { env: { PATH: bin }, encoding: 'utf8' });
    expect(result.stdout).toBe(
      `${withOpenssl ? 'openssl\n' : ''}ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\n`,
    );
  });
});

describe('extractVerifiedCommand: one read, checked as it goes', () => {
  /** A captured artifact with one byte of its workspace member flipped, as a bad disk would. */
  function corrupted(offset: number) {
    const { r, artifact } = capture();
    const member = indexOf(artifact).members.find((m) => m.name === 'workspace.tar') as IndexMember;
    const bytes = readFileSync(artifact);
    bytes[member.offset + offset] = (bytes[member.offset + offset] as number) ^ 0xff;
    writeFileSync(artifact, bytes);
    return { r, artifact, member };
  }

  test.each([
    ['the consumer takes the bytes (file data)', 'cat >/dev/null'],
    ['the consumer gives up early (a bad tar header)', 'head -c 1 >/dev/null; exit 2'],
  ])('a member altered on disk exits %#: %s', (_n, consumer) => {
    const { r, artifact, member } = corrupted(10);
    const result = r.run(extractVerifiedCommand(artifact, member, consumer));
    expect(result.status).toBe(CORRUPT_MEMBER_EXIT);
    expect(result.stderr).toMatch(
      new RegExp(`^member workspace.tar: sha256 [0-9a-f]{64}, expected ${member.sha256}\\n$`),
    );
  });

  test('a failing consumer of an intact member keeps its own status; a missing artifact says so', () => {
    const { r, artifact } = capture();
    const member = indexOf(artifact).members[0] as IndexMember;
    const failed = r.run(extractVerifiedCommand(artifact, member, 'head -c 1 >/dev/null; exit 3'));
    expect(failed.status).toBe(3);
    const bad = r.run(
      extractVerifiedCommand(artifact, member, `cat >/dev/null; exit ${CORRUPT_MEMBER_EXIT}`),
    );
    expect(bad.status).toBe(1); // never taken for a corrupt member
    const missing = r.run(extractVerifiedCommand(`${artifact}.gone`, member, 'cat >/dev/null'));
    expect(missing.status).not.toBe(0);
    expect(missing.stderr).toContain('no such artifact');
  });

  test.each([
    ['a sum line', `x\nsha256=${'a'.repeat(64)}\n`, 'a'.repeat(64)],
    ['no sum', 'done\n', undefined],
    ['a short sum', 'sha256=abc\n', undefined],
  ])('parseExtractOutput: %s', (_n, output, expected) => {
    expect(parseExtractOutput(output)).toBe(expected);
  });
});

describe('restoreVolumeCommand refusals', () => {
  test.each([
    ['key', { key: '../db' }],
    ['key', { key: '$(id)' }],
    ['path', { path: 'relative' }],
    ['path', { path: '/' }],
    ['path', { path: '/a/../b' }],
    ['containerId', { containerId: 'sbx-abc-db-1' }],
    ['containerId', { containerId: `${ID_B}; id` }],
  ])('restoreVolumeCommand refuses a bad %s', (_field, bad) => {
    const layout: ArtifactLayout = { format: 1 };
    expect(() => restoreVolumeCommand(docker, '/srv/a.tar', layout, { ...DB, ...bad })).toThrow(InputError);
  });
});
