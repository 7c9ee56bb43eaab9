import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { SnapshotCorruptError, SnapshotError } from '../../src/errors.js';
import { composeRuntime } from '../../src/extensions/builtin/compose-ssh/commands.js';
import {
  memberChecksumsCommand,
  probeArtifactCommand,
} from '../../src/extensions/builtin/compose-ssh/restore-commands.js';
import {
  captureSnapshot,
  downloadArtifact,
  isOnHost,
  namedVolumes,
} from '../../src/extensions/builtin/compose-ssh/snapshot.js';
import { artifactPathOf, snapshotDirOf } from '../../src/extensions/builtin/compose-ssh/snapshot-commands.js';
import {
  ensureArtifact,
  restoreVolumes,
  restoreWorkspace,
} from '../../src/extensions/builtin/compose-ssh/snapshot-restore.js';
import { parseContainers } from '../../src/extensions/builtin/compose-ssh/status.js';
import { MARKER_FILE } from '../../src/extensions/builtin/remote-workspace/workspace.js';
import type { RestoreSource } from '../../src/extensions/contract.js';
import type { RemoteHost } from '../../src/records/host-target.js';
import type { SnapshotLocation, SnapshotRecord } from '../../src/records/snapshot.js';
import { artifactDigest } from '../../src/util/artifact-digest.js';
import { sha256File } from '../../src/util/sha256-file.js';
import {
  FOOTER_BYTES,
  type IndexMember,
  indexLengthOf,
  parseSnapshotIndex,
} from '../../src/util/snapshot-index.js';
import { tempDir } from '../support/fixtures.js';
import { CACHE, DB, ID_A, ID_B, loopbackSession, rig, volumes, workspace } from './fake-docker.js';

const PROJECT = 'sbx-abc123def456';

/** The members of a format 2 artifact, from its index. */
function indexMembers(file: string): IndexMember[] {
  const bytes = readFileSync(file);
  const length = indexLengthOf(bytes.subarray(-FOOTER_BYTES).toString('latin1')) as number;
  const members = parseSnapshotIndex(
    bytes.subarray(-FOOTER_BYTES - length, -FOOTER_BYTES).toString('latin1'),
  );
  if (typeof members === 'string') throw new Error(members);
  return members;
}

/** Flips one byte of a member (format 2), as a bad disk would. */
function corruptMember(file: string, name: string): void {
  const member = indexMembers(file).find((m) => m.name === name) as IndexMember;
  const bytes = readFileSync(file);
  bytes[member.offset + 600] = (bytes[member.offset + 600] as number) ^ 1;
  writeFileSync(file, bytes);
}
const SNAP = 'snap-abc123def456';
const docker = composeRuntime('docker compose');

type Mount = { Type: string; Name?: string; Destination: string };

/** One line of inspectProjectCommand's output. */
function inspectLine(id: string, service: string, mounts: Mount[], status = 'running'): string {
  return JSON.stringify({
    id,
    labels: { 'com.docker.compose.service': service, 'com.docker.compose.project': PROJECT },
    state: { Status: status, ExitCode: 0 },
    ports: {},
    mounts,
  });
}

const containers = (...lines: string[]) => parseContainers(lines.join('\n'));

const host = (overrides: Partial<RemoteHost> = {}): RemoteHost => ({
  name: 'box',
  ssh: { address: '10.0.0.5', port: 22, user: 'ci' },
  labels: [],
  ...overrides,
});

describe('namedVolumes', () => {
  test('one mount per named volume of the project, keyed without the project prefix, first container wins', () => {
    const found = namedVolumes(
      containers(
        inspectLine(ID_A, 'db', [
          { Type: 'volume', Name: `${PROJECT}_db-data`, Destination: '/var/lib/postgresql/data' },
          { Type: 'bind', Destination: '/docker-entrypoint-initdb.d' },
        ]),
        inspectLine(ID_B, 'backup', [
          // The same volume seen from a second service: captured once, from the first.
          { Type: 'volume', Name: `${PROJECT}_db-data`, Destination: '/backup/src' },
          { Type: 'volume', Name: `${PROJECT}_cache`, Destination: '/data' },
        ]),
      ),
      PROJECT,
    );
    expect(found).toEqual([
      { key: 'db-data', service: 'db', containerId: ID_A, path: '/var/lib/postgresql/data' },
      { key: 'cache', service: 'backup', containerId: ID_B, path: '/data' },
    ]);
  });

  test.each<[string, Mount]>([
    ['a bind mount', { Type: 'bind', Name: `${PROJECT}_x`, Destination: '/x' }],
    ['a tmpfs', { Type: 'tmpfs', Destination: '/tmp' }],
    ['an external volume', { Type: 'volume', Name: 'shared-cache', Destination: '/cache' }],
    ['an anonymous volume', { Type: 'volume', Name: 'f'.repeat(64), Destination: '/anon' }],
    ['a volume without a name', { Type: 'volume', Destination: '/unnamed' }],
    [
      'a volume of a project whose name extends ours',
      { Type: 'volume', Name: `${PROJECT}0_x`, Destination: '/x' },
    ],
    ['a volume of another sandbox', { Type: 'volume', Name: 'sbx-zzz999yyy888_db', Destination: '/db' }],
    ['a volume named like the project', { Type: 'volume', Name: PROJECT, Destination: '/p' }],
  ])('skips %s', (_name, mount) => {
    expect(namedVolumes(containers(inspectLine(ID_A, 'app', [mount])), PROJECT)).toEqual([]);
  });

  test('no containers, no mounts, stopped containers: what they mount still counts', () => {
    expect(namedVolumes([], PROJECT)).toEqual([]);
    expect(namedVolumes(containers(inspectLine(ID_A, 'app', [])), PROJECT)).toEqual([]);
    const stopped = containers(
      inspectLine(ID_A, 'db', [{ Type: 'volume', Name: `${PROJECT}_pg`, Destination: '/pg' }], 'exited'),
    );
    expect(namedVolumes(stopped, PROJECT)).toEqual([
      { key: 'pg', service: 'db', containerId: ID_A, path: '/pg' },
    ]);
  });
});

describe('isOnHost', () => {
  const at = (name: string, ssh?: RemoteHost['ssh']): SnapshotLocation => ({
    kind: 'host',
    host: name,
    target: ssh ? { name, ssh } : { name },
    path: `/srv/.sandboxer-snapshots/${SNAP}.tar`,
  });

  test.each<[string, SnapshotLocation, RemoteHost, boolean]>([
    ['a local copy', { kind: 'local', path: '/home/u/.sandboxer/x.tar' }, host(), false],
    ['the same alias', at('box'), host(), true],
    [
      'the same alias, whatever the recorded address',
      at('box', { address: '1.1.1.1', port: 2, user: 'x' }),
      host(),
      true,
    ],
    ['another alias for the same address, port and user', at('old-name', host().ssh), host(), true],
    ['another port', at('other', { ...host().ssh, port: 2222 }), host(), false],
    ['another user', at('other', { ...host().ssh, user: 'root' }), host(), false],
    ['another address', at('other', { ...host().ssh, address: '10.0.0.6' }), host(), false],
    ['another alias without a recorded address', at('other'), host(), false],
  ])('%s → %s', (_name, location, target, expected) => {
    expect(isOnHost(location, target)).toBe(expected);
  });
});

/** A compose stack on the loopback "host": a sandbox directory, volumes and what inspect prints. */
function stack() {
  const r = rig();
  const session = loopbackSession(r);
  const base = join(r.root, 'base');
  const dir = workspace(join(base, PROJECT));
  writeFileSync(join(r.root, 'ws-path'), dir);
  volumes(r);
  writeFileSync(join(r.root, 'ps'), `${ID_A}\n${ID_B}\n`);
  writeFileSync(
    join(r.root, 'inspect'),
    `${[
      inspectLine(ID_A, 'db', [{ Type: 'volume', Name: `${PROJECT}_db-data`, Destination: DB.path }]),
      inspectLine(ID_B, 'redis', [{ Type: 'volume', Name: `${PROJECT}_cache`, Destination: CACHE.path }]),
    ].join('\n')}\n`,
  );
  return { r, session, base, dir };
}

describe('captureSnapshot over a (loopback) session', () => {
  test('inspects the stack, captures workspace and its named volumes while paused, and reports the artifact', async () => {
    const { r, session, base, dir } = stack();
    const result = await captureSnapshot(session, {
      runtime: docker,
      project: PROJECT,
      dir,
      base,
      snapshotId: SNAP,
      capture: ['workspace', 'volumes'],
      consistency: 'pause',
      stopTimeout: 10,
      manifest: { snapshot_id: SNAP },
    });
    const artifact = artifactPathOf(base, SNAP);
    expect(result).toEqual({
      artifact,
      sha256: (await artifactDigest(artifact)).digest,
      size: readFileSync(artifact).length,
      pausedMs: expect.any(Number),
      contents: {
        workspace: true,
        volumes: [
          { key: 'db-data', service: 'db', path: DB.path },
          { key: 'cache', service: 'redis', path: CACHE.path },
        ],
      },
    });
    expect(r.order()).toEqual(['ps', 'inspect', 'pause', 'cp', 'cp', 'unpause']);
    const first = indexMembers(artifact)[0] as IndexMember;
    expect(first.name).toBe('manifest.json');
    const manifest = JSON.parse(readFileSync(artifact).subarray(0, first.size).toString('utf8'));
    expect(manifest).toEqual({ format: 2, snapshot_id: SNAP, contents: result.contents });
  });

  test('capture: [workspace] leaves the volumes out, and only running containers are paused', async () => {
    const { r, session, base, dir } = stack();
    writeFileSync(
      join(r.root, 'inspect'),
      `${inspectLine(ID_A, 'db', [], 'running')}\n${inspectLine(ID_B, 'job', [], 'exited')}\n`,
    );
    const result = await captureSnapshot(session, {
      runtime: docker,
      project: PROJECT,
      dir,
      base,
      snapshotId: SNAP,
      capture: ['workspace'],
      consistency: 'stop',
      stopTimeout: 4,
      manifest: {},
    });
    expect(result.contents).toEqual({ workspace: true, volumes: [] });
    expect(r.calls().slice(2)).toEqual([
      ['stop', '-t', '4', ID_A],
      ['start', ID_A],
    ]);
  });
});

describe('ensureArtifact, restoreWorkspace, restoreVolumes, downloadArtifact', () => {
  /** A stack with a captured snapshot, and its record as the manager would hand it over. */
  async function captured() {
    const s = stack();
    const result = await captureSnapshot(s.session, {
      runtime: docker,
      project: PROJECT,
      dir: s.dir,
      base: s.base,
      snapshotId: SNAP,
      capture: ['workspace', 'volumes'],
      consistency: 'pause',
      stopTimeout: 10,
      manifest: {},
    });
    const now = new Date().toISOString();
    const snapshot: SnapshotRecord = {
      id: SNAP,
      status: 'ready',
      sandbox_id: 'abc123def456',
      profile: 'profile.compose-checkpoint',
      extension: 'ext.compose-ssh',
      host: 'box',
      created_at: now,
      updated_at: now,
      sha256: result.sha256,
      size_bytes: result.size,
      locations: [{ kind: 'host', host: 'box', target: host(), path: result.artifact }],
      contents: result.contents,
      inputs: {},
    };
    const added: SnapshotLocation[] = [];
    const source = (overrides: Partial<RestoreSource> = {}): RestoreSource => ({
      snapshot,
      addLocation: async (l) => {
        added.push(l);
      },
      ...overrides,
    });
    return { ...s, result, snapshot, source, added };
  }

  test('a copy already on this host is verified in place: no upload, nothing recorded', async () => {
    const { session, base, result, source, added } = await captured();
    const before = session.commands.length;
    const checked = await ensureArtifact(session, host(), base, source(), undefined);
    const members = indexMembers(result.artifact);
    expect(checked).toEqual({ snapshotId: SNAP, path: result.artifact, layout: { format: 2, members } });
    expect(session.commands.slice(before)).toEqual([
      probeArtifactCommand(result.artifact),
      memberChecksumsCommand(result.artifact, members),
    ]);
    expect(added).toEqual([]);
  });

  test('for a new sandbox (checkData false) only the index is read up front', async () => {
    const { session, base, result, source } = await captured();
    const before = session.commands.length;
    await ensureArtifact(session, host(), base, source(), undefined, false);
    expect(session.commands.slice(before)).toEqual([probeArtifactCommand(result.artifact)]);
  });

  test('a format 1 artifact (written by earlier versions) is checked whole and restores', async () => {
    const { r, session, base, dir, result, snapshot } = await captured();
    // The same members as one tar, the record's sha256 that of the whole file, as format 1 had it.
    const stage = join(r.root, 'format1');
    mkdirSync(join(stage, 'volumes'), { recursive: true });
    const bytes = readFileSync(result.artifact);
    for (const m of indexMembers(result.artifact)) {
      writeFileSync(join(stage, m.name), bytes.subarray(m.offset, m.offset + m.size));
    }
    rmSync(result.artifact);
    r.run(`tar -C '${stage}' -cf '${result.artifact}' manifest.json workspace.tar volumes`);
    const old: SnapshotRecord = { ...snapshot, sha256: await sha256File(result.artifact) };
    const checked = await ensureArtifact(session, host(), base, { snapshot: old }, undefined, false);
    expect(checked).toEqual({ snapshotId: SNAP, path: result.artifact, layout: { format: 1 } });
    writeFileSync(join(dir, 'new.txt'), 'after the snapshot\n');
    await restoreWorkspace(session, checked, dir, true);
    expect(existsSync(join(dir, 'new.txt'))).toBe(false);
    expect(readFileSync(join(dir, 'src', 'app.txt'), 'utf8')).toBe('app\n');
    // And its checksum is still the whole file's: a changed byte is refused before anything is made.
    const corrupt = await ensureArtifact(
      session,
      host(),
      base,
      { snapshot: { ...old, sha256: 'f'.repeat(64) } },
      undefined,
    ).catch((e: unknown) => e);
    expect(corrupt).toBeInstanceOf(SnapshotCorruptError);
  });

  test('another host without a copy gets the verified local copy uploaded, then recorded', async () => {
    const { session, result, snapshot, source, added } = await captured();
    const local = join(tempDir(), `${SNAP}.tar`);
    writeFileSync(local, readFileSync(result.artifact));
    const other = host({ name: 'other', ssh: { address: '10.0.0.9', port: 22, user: 'ci' } });
    const otherBase = join(tempDir(), 'other-base');
    const progress: string[] = [];
    const path = await ensureArtifact(session, other, otherBase, source({ localPath: local }), (m) =>
      progress.push(m),
    );
    expect(path.path).toBe(artifactPathOf(otherBase, SNAP));
    expect(readFileSync(path.path)).toEqual(readFileSync(local));
    expect(added).toEqual([{ kind: 'host', host: 'other', target: other, path: path.path }]);
    expect(progress[0]).toBe(`uploading snapshot ${SNAP} (${snapshot.size_bytes} bytes) to other`);
  });

  test('another host and no local copy: SnapshotError saying to pull it', async () => {
    const { session, source } = await captured();
    const other = host({ name: 'other', ssh: { address: '10.0.0.9', port: 22, user: 'ci' } });
    await expect(ensureArtifact(session, other, join(tempDir(), 'b'), source(), undefined)).rejects.toThrow(
      `snapshot ${SNAP} has no copy on other nor on this machine (pull it to this machine first)`,
    );
  });

  test('a copy deleted by hand: SnapshotError; a corrupt one: SnapshotCorruptError; nothing restored', async () => {
    const { session, base, result, source, added } = await captured();
    corruptMember(result.artifact, 'workspace.tar');
    const corrupt = await ensureArtifact(session, host(), base, source(), undefined).catch((e: unknown) => e);
    expect(corrupt).toBeInstanceOf(SnapshotCorruptError);
    expect((corrupt as Error).message).toMatch(
      new RegExp(
        `^snapshot ${SNAP}: artifact .* on box is corrupt \\(member workspace.tar: sha256 [0-9a-f]{16}…, expected [0-9a-f]{16}…\\); nothing was restored$`,
      ),
    );
    // A changed index (or footer) changes the digest the record pins: refused before any data is read.
    const bytes = readFileSync(result.artifact);
    bytes[bytes.length - FOOTER_BYTES - 5] = (bytes[bytes.length - FOOTER_BYTES - 5] as number) ^ 1;
    writeFileSync(result.artifact, bytes);
    const index = await ensureArtifact(session, host(), base, source(), undefined, false).catch(
      (e: unknown) => e,
    );
    expect((index as Error).message).toMatch(/is corrupt \(sha256 [0-9a-f]{16}…, expected [0-9a-f]{16}…\)/);
    rmSync(result.artifact);
    const gone = await ensureArtifact(session, host(), base, source(), undefined).catch((e: unknown) => e);
    expect(gone).toBeInstanceOf(SnapshotError);
    expect((gone as Error).message).toContain('is gone from box (deleted by hand?)');
    expect(added).toEqual([]);
  });

  test('an upload whose content does not match the record is refused and not recorded', async () => {
    const { session, source, added } = await captured();
    const local = join(tempDir(), 'wrong.tar');
    writeFileSync(local, 'not the artifact');
    const other = host({ name: 'other', ssh: { address: '10.0.0.9', port: 22, user: 'ci' } });
    await expect(
      ensureArtifact(session, other, join(tempDir(), 'b'), source({ localPath: local }), undefined),
    ).rejects.toThrow(SnapshotCorruptError);
    expect(added).toEqual([]);
  });

  test('restoreWorkspace in place, then restoreVolumes into the recreated containers', async () => {
    const { r, session, base, dir, snapshot, source } = await captured();
    writeFileSync(join(dir, 'new.txt'), 'after the snapshot\n');
    const artifact = await ensureArtifact(session, host(), base, source(), undefined, false);
    await restoreWorkspace(session, artifact, dir, true);
    expect(existsSync(join(dir, 'new.txt'))).toBe(false);
    expect(readFileSync(join(dir, 'src', 'app.txt'), 'utf8')).toBe('app\n');
    expect(existsSync(join(dir, MARKER_FILE))).toBe(true);

    // The recreated stack has new containers: the volumes go to whichever one mounts the path now.
    const NEW_DB = 'feedfacecafe';
    const NEW_REDIS = 'cafebabe0000';
    writeFileSync(
      join(r.root, 'inspect'),
      `${inspectLine(NEW_DB, 'db', [{ Type: 'volume', Name: `${PROJECT}_db-data`, Destination: DB.path }], 'created')}\n${inspectLine(NEW_REDIS, 'redis', [{ Type: 'volume', Name: `${PROJECT}_cache`, Destination: CACHE.path }], 'created')}\n`,
    );
    const progress: string[] = [];
    await restoreVolumes(session, docker, PROJECT, artifact, snapshot.contents?.volumes ?? [], (m) =>
      progress.push(m),
    );
    expect(r.calls().slice(-2)).toEqual([
      ['cp', '-', `${NEW_DB}:/var/lib/postgresql`],
      ['cp', '-', `${NEW_REDIS}:/`],
    ]);
    expect(readFileSync(join(r.root, 'restored', NEW_DB, DB.path, 'VERSION'), 'utf8')).toBe('db-data\n');
    expect(readFileSync(join(r.root, 'restored', NEW_REDIS, CACHE.path, 'VERSION'), 'utf8')).toBe('cache\n');
    expect(progress).toEqual([
      'restoring volume db-data (db:/var/lib/postgresql/data)',
      'restoring volume cache (redis:/data)',
    ]);
  });

  test('a member that does not match the index while it is extracted: SnapshotCorruptError naming the snapshot', async () => {
    const { r, session, base, result, snapshot } = await captured();
    const artifact = await ensureArtifact(session, host(), base, { snapshot }, undefined, false);
    corruptMember(result.artifact, 'volumes/cache.tar');
    writeFileSync(
      join(r.root, 'inspect'),
      `${inspectLine(ID_A, 'db', [{ Type: 'volume', Name: `${PROJECT}_db-data`, Destination: DB.path }], 'created')}\n${inspectLine(ID_B, 'redis', [{ Type: 'volume', Name: `${PROJECT}_cache`, Destination: CACHE.path }], 'created')}\n`,
    );
    const error = await restoreVolumes(
      session,
      docker,
      PROJECT,
      artifact,
      snapshot.contents?.volumes ?? [],
      undefined,
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SnapshotCorruptError);
    expect((error as Error).message).toMatch(
      new RegExp(
        `^snapshot ${SNAP}: artifact .* is corrupt \\(member volumes/cache.tar: sha256 [0-9a-f]{16}…, expected [0-9a-f]{16}…\\); nothing was restored$`,
      ),
    );
  });

  test('restoreVolumes refuses a stack where no container of the service mounts the path', async () => {
    const { r, session, base, snapshot } = await captured();
    const result = await ensureArtifact(session, host(), base, { snapshot }, undefined, false);
    writeFileSync(join(r.root, 'inspect'), `${inspectLine(ID_A, 'db', [], 'created')}\n`);
    await expect(
      restoreVolumes(session, docker, PROJECT, result, snapshot.contents?.volumes ?? [], undefined),
    ).rejects.toThrow(
      'volume db-data: no container of service db mounts /var/lib/postgresql/data in the restored stack (was the compose file changed?)',
    );
    const before = r.calls().length;
    await restoreVolumes(session, docker, PROJECT, result, [], undefined);
    expect(r.calls()).toHaveLength(before); // nothing to restore: not even an inspect
  });

  test('downloadArtifact streams the host copy into place; a failure leaves no file', async () => {
    const { session, result } = await captured();
    const dir = tempDir();
    const local = join(dir, `${SNAP}.tar`);
    await downloadArtifact(session, result.artifact, local);
    expect(await artifactDigest(local)).toEqual({ digest: result.sha256 });
    const missing = join(dir, 'missing.tar');
    const error = await downloadArtifact(
      session,
      join(snapshotDirOf(join(dir, 'x')), 'nope.tar'),
      missing,
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SnapshotError);
    expect((error as Error).message).toMatch(/^downloading .*nope\.tar from loopback failed: /);
    expect(existsSync(missing)).toBe(false);
    expect(existsSync(`${missing}.partial`)).toBe(false);
  });
});

describe('a stack whose directory is missing', () => {
  test('captureSnapshot fails with the remote error and leaves no artifact', async () => {
    const { r, session, base } = stack();
    mkdirSync(join(r.root, 'elsewhere'));
    await expect(
      captureSnapshot(session, {
        runtime: docker,
        project: PROJECT,
        dir: join(base, 'sbx-zzz999yyy888'),
        base,
        snapshotId: SNAP,
        capture: ['workspace'],
        consistency: 'pause',
        stopTimeout: 10,
        manifest: {},
      }),
    ).rejects.toThrow('capturing the snapshot failed');
    expect(existsSync(artifactPathOf(base, SNAP))).toBe(false);
    expect(r.order().at(-1)).toBe('unpause');
  });
});
