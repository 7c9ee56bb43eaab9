import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { runCli, runCliAsync } from './run-cli.js';

const temp = (prefix: string) => mkdtempSync(join(tmpdir(), prefix));

/** Parses a `--json` stdout, showing stderr when the command did not print one. */
function json<T = Record<string, unknown>>(result: { code: number; stdout: string; stderr: string }): T {
  try {
    return JSON.parse(result.stdout) as T;
  } catch {
    throw new Error(`not JSON (exit ${result.code}): ${result.stdout}\n${result.stderr}`);
  }
}

describe('sandboxer snapshot and restore against the embedded saas-stub', () => {
  test('create → snapshot → list/show → restore (new, in place) → refusals → delete, with --json and exit codes', async () => {
    const home = temp('sbx-cli-home-');
    const env = { SANDBOXER_HOME: home };
    const repo = temp('sbx-cli-repo-');
    writeFileSync(join(repo, 'README.md'), '# before\n');

    const sandbox = json<{ id: string; reachability: { remote_dir: string } }>(
      runCli(['create', '-p', 'saas-stub', '-i', `repo=${repo}`, '--json'], env),
    );
    const dir = sandbox.reachability.remote_dir;

    const created = runCli(['snapshot', 'create', sandbox.id, '--name', 'before', '--json'], env);
    expect(created.code, created.stderr).toBe(0);
    expect(created.stderr).toBe(''); // progress is quiet when piped
    const snapshot = json<{ id: string; locations: Array<{ path: string }> }>(created);
    expect(snapshot).toMatchObject({
      name: 'before',
      status: 'ready',
      sandbox_id: sandbox.id,
      profile: 'profile.saas-stub',
      extension: 'ext.saas-stub',
      contents: { workspace: true, volumes: [] },
      cost: { credits: 0.01 },
    });
    const artifact = snapshot.locations[0]?.path as string;
    expect(artifact).toBe(join(home, 'snapshots', 'artifacts', `${snapshot.id}.tar`));

    writeFileSync(join(dir, 'README.md'), '# after\n');
    const [list, shown] = await Promise.all([
      runCliAsync(['snapshot', 'list', '--json'], env),
      runCliAsync(['snapshot', 'show', 'before', '--json'], env),
    ]);
    expect(json(list)).toEqual([snapshot]);
    expect(json(shown)).toEqual(snapshot);

    const restored = runCli(['restore', 'before', '--json'], env);
    expect(restored.code, restored.stderr).toBe(0);
    const copy = json<{ id: string; reachability: { remote_dir: string } }>(restored);
    expect(copy).toMatchObject({ state: 'ready', restored_from: snapshot.id, profile: 'profile.saas-stub' });
    expect(copy.id).not.toBe(sandbox.id);
    expect(readFileSync(join(copy.reachability.remote_dir, 'README.md'), 'utf8')).toBe('# before\n');
    expect(readFileSync(join(dir, 'README.md'), 'utf8')).toBe('# after\n');

    const inPlace = runCli(['restore', snapshot.id, '--in-place', '--json'], env);
    expect(inPlace.code, inPlace.stderr).toBe(0);
    expect(json(inPlace)).toMatchObject({ id: sandbox.id, state: 'ready', restored_from: snapshot.id });
    expect(readFileSync(join(dir, 'README.md'), 'utf8')).toBe('# before\n');

    // Refusals, each with its exit code; none of them changes anything.
    expect(runCli(['destroy', copy.id], env).code).toBe(0);
    // A snapshot record of an extension without snapshots, as an older or hand-made store may hold.
    const now = new Date().toISOString();
    writeFileSync(
      join(home, 'snapshots', 'snap-vmpacker0001.json'),
      JSON.stringify({
        ...snapshot,
        id: 'snap-vmpacker0001',
        name: 'vm',
        extension: 'ext.vm-packer',
        created_at: now,
      }),
    );
    const flipped = readFileSync(artifact);
    flipped[600] = (flipped[600] as number) ^ 0xff;
    writeFileSync(artifact, flipped);
    // Read the store's files directly: a refusal must not touch them (and running the CLI costs time).
    const stored = () => [
      readdirSync(join(home, 'sandboxes')),
      readFileSync(join(home, 'ledger.jsonl'), 'utf8'),
    ];
    const before = stored();

    const refusals = [
      ['snapshot show', 3, 'NOT_FOUND', ['snapshot', 'show', 'nope', '--json'], /no snapshot "nope"/],
      [
        'snapshot of a destroyed sandbox',
        6,
        'STATE_CONFLICT',
        ['snapshot', 'create', copy.id, '--json'],
        /is destroyed: only a ready sandbox can be snapshotted/,
      ],
      [
        'a bad name',
        2,
        'INPUT_INVALID',
        ['snapshot', 'create', sandbox.id, '--name', '../x', '--json'],
        /--name "\.\.\/x": expected up to 64 letters/,
      ],
      [
        'an extension without snapshots',
        2,
        'UNSUPPORTED',
        ['restore', 'vm', '--json'],
        /^ext\.vm-packer does not support snapshots/,
      ],
      [
        'a corrupt artifact',
        10,
        'SNAPSHOT_CORRUPT',
        ['restore', 'before', '--json'],
        /is corrupt .*nothing was restored/,
      ],
    ] as const;
    const results = await Promise.all(refusals.map(([, , , args]) => runCliAsync([...args], env)));
    for (const [i, [name, code, errorCode, , message]] of refusals.entries()) {
      const result = results[i] as (typeof results)[number];
      expect({ name, code: result.code }).toEqual({ name, code });
      expect(json<{ error: { code: string; message: string } }>(result).error).toMatchObject({
        code: errorCode,
        message: expect.stringMatching(message),
      });
    }
    expect(stored()).toEqual(before);
    expect(readdirSync(join(home, 'saas-stub'))).toHaveLength(1);
    expect(readFileSync(join(dir, 'README.md'), 'utf8')).toBe('# before\n');

    const deleted = runCli(['snapshot', 'delete', 'before', '--json'], env);
    expect(deleted.code, deleted.stderr).toBe(0);
    expect(json(deleted)).toMatchObject({ id: snapshot.id, status: 'deleted', locations: [] });
    expect(existsSync(artifact)).toBe(false);
    const again = runCli(['restore', 'before', '--json'], env);
    expect(again.code).toBe(6);
    expect(json<{ error: { message: string } }>(again).error.message).toMatch(
      new RegExp(`^snapshot ${snapshot.id} is deleted \\(deleted at`),
    );
  });
});
