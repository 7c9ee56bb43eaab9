import {
  chmodSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, test } from 'vitest';
import { InputError } from '../../src/errors.js';
import {
  createWorkspaceCommand,
  MARKER_FILE,
  markerContent,
  removeWorkspaceCommand,
  resolveBaseDir,
  sandboxDirOf,
  workspaceRemoval,
} from '../../src/extensions/builtin/remote-workspace/workspace.js';
import type { SshSession } from '../../src/ssh/session.js';
import { fakeBin, hostileValues } from './fake-bin.js';

const ID = 'abc123def456';
const OTHER = 'zzz999yyy888';

/** Every path under `dir` with its content (directories as `/`), to prove a command left it alone. */
function snapshot(dir: string): Record<string, string> {
  const tree: Record<string, string> = {};
  const walk = (d: string) => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const path = join(d, entry.name);
      if (entry.isDirectory()) {
        tree[`${relative(dir, path)}/`] = '';
        walk(path);
      } else tree[relative(dir, path)] = readFileSync(path, 'utf8');
    }
  };
  walk(dir);
  return tree;
}

/**
 * A sandbox directory as provision leaves it: created by the real command, marker piped in, repo
 * synced. `owner` is the id the marker names (another sandbox's, to build a directory that is not ours).
 */
function provisioned(fake: ReturnType<typeof fakeBin>, base: string, id: string, owner = id): string {
  const dir = sandboxDirOf(base, id);
  const result = fake.run(createWorkspaceCommand(base, dir), { input: markerContent({ sandbox_id: owner }) });
  expect(result.status, result.stderr).toBe(0);
  writeFileSync(join(dir, 'docker-compose.yml'), 'services: {}\n');
  mkdirSync(join(dir, 'src'));
  writeFileSync(join(dir, 'src', 'app.ts'), 'export {};\n');
  return dir;
}

describe('createWorkspaceCommand', () => {
  test('exact command', () => {
    expect(createWorkspaceCommand('/srv/sandboxer', '/srv/sandboxer/sbx-abc')).toBe(
      `mkdir -p -- /srv/sandboxer && mkdir -m 0750 -- /srv/sandboxer/sbx-abc && cat > /srv/sandboxer/sbx-abc/${MARKER_FILE}`,
    );
    expect(createWorkspaceCommand('/srv/my sandboxes', "/srv/my sandboxes/sbx-it's")).toBe(
      `mkdir -p -- '/srv/my sandboxes' && mkdir -m 0750 -- '/srv/my sandboxes/sbx-it'\\''s' && cat > '/srv/my sandboxes/sbx-it'\\''s/${MARKER_FILE}'`,
    );
  });

  test('creates the base (with parents), the dir with mode 0750, and the marker from stdin', () => {
    const fake = fakeBin([]);
    const base = join(fake.root, 'home', 'u', 'sandboxer');
    const dir = sandboxDirOf(base, ID);
    const marker = markerContent({ sandbox_id: ID, extension: 'ext.compose-ssh' });
    const result = fake.run(createWorkspaceCommand(base, dir), { input: marker });
    expect(result.status, result.stderr).toBe(0);
    expect(statSync(dir).mode & 0o777).toBe(0o750);
    expect(readFileSync(join(dir, MARKER_FILE), 'utf8')).toBe(marker);
    expect(marker).toBe(`{"managed_by":"sand-boxer","sandbox_id":"${ID}","extension":"ext.compose-ssh"}\n`);
  });

  test('never adopts an existing directory: fails and writes no marker', () => {
    const fake = fakeBin([]);
    const base = join(fake.root, 'sandboxer');
    const dir = sandboxDirOf(base, ID);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'theirs.txt'), 'keep\n');
    const before = snapshot(base);
    const result = fake.run(createWorkspaceCommand(base, dir), { input: markerContent({ sandbox_id: ID }) });
    expect(result.status).not.toBe(0);
    expect(snapshot(base)).toEqual(before);
  });
});

describe('removeWorkspaceCommand', () => {
  test('exact command', () => {
    const dir = `/srv/sandboxer/sbx-${ID}`;
    const marker = `${dir}/${MARKER_FILE}`;
    const trash = `/srv/sandboxer/.sandboxer-trash/sbx-${ID}`;
    const layer = `/srv/sandboxer/.sandboxer-layers/sbx-${ID}`;
    expect(removeWorkspaceCommand(dir, ID)).toBe(
      [
        // An overlay-filled sandbox is unmounted first; its layers go to the trash.
        `if [ -d ${layer} ]; then { umount -- ${dir} || umount -l -- ${dir}; } 2>/dev/null; mkdir -p -- /srv/sandboxer/.sandboxer-trash && l=/srv/sandboxer/.sandboxer-trash/layers-sbx-${ID}.$$ && mv -- ${layer} "$l" && (nohup setsid nice rm -rf -- "$l" </dev/null >/dev/null 2>&1 &); fi`,
        `if [ ! -e ${dir} ]; then if ! ls -d -- ${trash}.* >/dev/null 2>&1; then echo absent; elif { rm -rf -- ${trash}.* 2>/dev/null || { chmod -R u+rwx -- ${trash}.* && rm -rf -- ${trash}.*; }; }; then echo absent; else echo trash-failed; fi`,
        `elif grep -qF '"sandbox_id":"${ID}"' ${marker} 2>/dev/null; then if o=$(find ${dir} '!' -user "$(id -u)" -print -quit 2>/dev/null) && [ -z "$o" ] && mkdir -p -- /srv/sandboxer/.sandboxer-trash && t=${trash}.$$ && mv -- ${dir} "$t"; then touch -- "$t"; (nohup setsid nice sh -c '{ rm -rf -- "$0" 2>/dev/null || { chmod -R u+rwx -- "$0" && rm -rf -- "$0"; }; }' "$t" </dev/null >/dev/null 2>&1 &); echo removed; elif find ${dir} -mindepth 1 -maxdepth 1 '!' -name ${MARKER_FILE} -exec rm -rf -- '{}' + && rm -rf -- ${dir}; then echo removed; else echo rm-failed; fi`,
        `elif [ ! -s ${marker} ] && [ -z "$(ls -A -- ${dir} | grep -vxF ${MARKER_FILE})" ]; then rm -f -- ${marker}; rmdir -- ${dir} && echo removed`,
        'else echo foreign; fi',
      ].join('; '),
    );
  });

  /** Waits for the detached `rm` of the trash to finish (it runs after the command returned). */
  async function trashEmptied(base: string): Promise<string[]> {
    const trash = join(base, '.sandboxer-trash');
    for (let i = 0; i < 100 && readdirSync(trash).length > 0; i++)
      await new Promise((r) => setTimeout(r, 50));
    return readdirSync(trash);
  }

  test("all files the login user's: renamed into the trash at once, deleted there in the background", async () => {
    const fake = fakeBin([]);
    const base = join(fake.root, 'sandboxer');
    const dir = provisioned(fake, base, ID);
    expect(fake.run(removeWorkspaceCommand(dir, ID)).stdout).toBe('removed\n');
    expect(existsSync(dir)).toBe(false);
    expect(await trashEmptied(base)).toEqual([]);
  });

  test('a tree with read-only directories (a Go module cache) is still deleted from the trash', async () => {
    const fake = fakeBin([]);
    const base = join(fake.root, 'sandboxer');
    const dir = provisioned(fake, base, ID);
    mkdirSync(join(dir, 'pkg', 'mod'), { recursive: true });
    writeFileSync(join(dir, 'pkg', 'mod', 'go.mod'), 'module x\n');
    chmodSync(join(dir, 'pkg', 'mod'), 0o555);
    chmodSync(join(dir, 'pkg'), 0o555);
    expect(fake.run(removeWorkspaceCommand(dir, ID)).stdout).toBe('removed\n');
    expect(await trashEmptied(base)).toEqual([]);
  });

  test('what an earlier removal left in the trash (its rm died) is deleted by the next one', () => {
    const fake = fakeBin([]);
    const base = join(fake.root, 'sandboxer');
    const left = join(base, '.sandboxer-trash', `sbx-${ID}.4242`);
    const other = join(base, '.sandboxer-trash', `sbx-${OTHER}.4242`);
    mkdirSync(join(left, 'src'), { recursive: true });
    mkdirSync(other, { recursive: true });
    writeFileSync(join(left, 'src', 'app.ts'), '');
    expect(fake.run(removeWorkspaceCommand(sandboxDirOf(base, ID), ID)).stdout).toBe('absent\n');
    expect(existsSync(left)).toBe(false);
    // Another sandbox's is its own business.
    expect(existsSync(other)).toBe(true);
  });

  test('a trash entry that cannot be deleted: trash-failed', () => {
    const fake = fakeBin(['rm'], { exitCode: 1 });
    const base = join(fake.root, 'sandboxer');
    mkdirSync(join(base, '.sandboxer-trash', `sbx-${ID}.4242`), { recursive: true });
    expect(fake.run(removeWorkspaceCommand(sandboxDirOf(base, ID), ID)).stdout).toBe('trash-failed\n');
  });

  test.each<[string, string, boolean, (fake: ReturnType<typeof fakeBin>, base: string) => string]>([
    ['ours (marker names this id), with the synced repo', 'removed', false, (f, b) => provisioned(f, b, ID)],
    ['absent', 'absent', false, (_f, b) => sandboxDirOf(b, ID)],
    [
      'empty, no marker (creation stopped before the marker)',
      'removed',
      false,
      (_f, b) => {
        const dir = sandboxDirOf(b, ID);
        mkdirSync(dir, { recursive: true });
        return dir;
      },
    ],
    [
      'an empty marker and nothing else (the write failed)',
      'removed',
      false,
      (_f, b) => {
        const dir = sandboxDirOf(b, ID);
        mkdirSync(dir, { recursive: true });
        writeFileSync(join(dir, MARKER_FILE), '');
        return dir;
      },
    ],
    [
      'non-empty, no marker',
      'foreign',
      true,
      (_f, b) => {
        const dir = sandboxDirOf(b, ID);
        mkdirSync(join(dir, 'data'), { recursive: true });
        writeFileSync(join(dir, 'data', 'db.sqlite'), 'precious\n');
        return dir;
      },
    ],
  ])('%s → %s', (_name, answer, stays, setUp) => {
    const fake = fakeBin([]);
    const base = join(fake.root, 'sandboxer');
    mkdirSync(base);
    const dir = setUp(fake, base);
    const before = existsSync(dir) ? snapshot(dir) : undefined;
    const result = fake.run(removeWorkspaceCommand(dir, ID));
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toBe(`${answer}\n`);
    expect(existsSync(dir)).toBe(stays);
    if (stays) expect(snapshot(dir)).toEqual(before);
    expect(existsSync(base)).toBe(true);
  });

  // The no-marker fallback runs only for a missing or empty marker: another sandbox's marker is
  // kept, and so is a directory holding nothing else.
  test.each([
    ['another sandbox id, with its repo', OTHER, true],
    ['an id that extends this one, with its repo', `${ID}0`, true],
    ['another sandbox id, marker only', OTHER, false],
  ])('foreign and untouched: %s', (_name, owner, withRepo) => {
    const fake = fakeBin([]);
    const base = join(fake.root, 'sandboxer');
    const dir = sandboxDirOf(base, ID);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, MARKER_FILE), markerContent({ sandbox_id: owner }));
    if (withRepo) writeFileSync(join(dir, 'docker-compose.yml'), 'services: {}\n');
    const before = snapshot(dir);
    expect(fake.run(removeWorkspaceCommand(dir, ID)).stdout).toBe('foreign\n');
    expect(existsSync(dir) && snapshot(dir)).toEqual(before);
  });

  test('a marker for a longer id is not ours: foreign and untouched', () => {
    const fake = fakeBin([]);
    const base = join(fake.root, 'sandboxer');
    const dir = provisioned(fake, base, ID, `${ID}0`);
    const before = snapshot(dir);
    expect(before[MARKER_FILE]).toBe(markerContent({ sandbox_id: `${ID}0` }));
    expect(fake.run(removeWorkspaceCommand(dir, ID)).stdout).toBe('foreign\n');
    expect(snapshot(dir)).toEqual(before);
  });

  test('an empty marker next to other files: foreign, everything kept (the empty marker too)', () => {
    const fake = fakeBin([]);
    const dir = sandboxDirOf(join(fake.root, 'sandboxer'), ID);
    mkdirSync(join(dir, 'data'), { recursive: true });
    writeFileSync(join(dir, MARKER_FILE), '');
    writeFileSync(join(dir, 'data', 'db.sqlite'), 'precious\n');
    expect(fake.run(removeWorkspaceCommand(dir, ID)).stdout).toBe('foreign\n');
    expect(snapshot(dir)).toEqual({ [MARKER_FILE]: '', 'data/': '', 'data/db.sqlite': 'precious\n' });
  });

  test('ours, but deleting fails (files another user owns): rm-failed, the marker kept for a retry', () => {
    // Files owned by someone else (a fake `id` names another user, as the files are all the test's)
    // take the slow path, and a fake rm fails there, as rm does on root-owned files left by a container.
    const fake = fakeBin(['rm', 'id'], { exitCode: 1 });
    const dir = provisioned(fake, join(fake.root, 'sandboxer'), ID);
    const before = snapshot(dir);
    const result = fake.run(removeWorkspaceCommand(dir, ID));
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toBe('rm-failed\n');
    // The contents go first (the marker is never among them); the directory itself is not tried.
    const calls = fake
      .calls()
      .filter((c) => c.name === 'rm')
      .map((c) => [c.name, ...c.args]);
    expect(calls).toHaveLength(1);
    expect(calls[0]?.slice(0, 3)).toEqual(['rm', '-rf', '--']);
    expect(calls[0]?.slice(3).sort()).toEqual([join(dir, 'docker-compose.yml'), join(dir, 'src')]);
    expect(snapshot(dir)).toEqual(before);
  });

  test('removing twice: removed, then absent', () => {
    const fake = fakeBin([]);
    const dir = provisioned(fake, join(fake.root, 'sandboxer'), ID);
    expect(fake.run(removeWorkspaceCommand(dir, ID)).stdout).toBe('removed\n');
    expect(fake.run(removeWorkspaceCommand(dir, ID)).stdout).toBe('absent\n');
  });
});

describe('hostile directory paths and ids stay data', () => {
  test.each(hostileValues('<marker>'))('a base dir with %s: create, then remove', (_name, raw) => {
    const fake = fakeBin([]);
    const base = join(fake.root, `base ${raw.replaceAll('<marker>', fake.marker)}`);
    const dir = provisioned(fake, base, ID);
    expect(dir).toBe(join(base, `sbx-${ID}`));
    expect(readFileSync(join(dir, MARKER_FILE), 'utf8')).toBe(markerContent({ sandbox_id: ID }));
    const siblings = snapshot(fake.root);
    const result = fake.run(removeWorkspaceCommand(dir, ID));
    expect(result.stdout, result.stderr).toBe('removed\n');
    expect(existsSync(dir)).toBe(false);
    expect(existsSync(base)).toBe(true);
    expect(fake.pwned()).toEqual([]);
    // Only the sandbox directory went away: nothing a glob or a split word could have reached.
    const gone = Object.keys(siblings).filter((path) => !existsSync(join(fake.root, path)));
    expect(gone.every((path) => join(fake.root, path).startsWith(dir))).toBe(true);
  });

  test.each(hostileValues('<marker>'))('%s as the sandbox id in the marker check', (_name, raw) => {
    const fake = fakeBin([]);
    const id = raw.replaceAll('<marker>', fake.marker);
    const dir = join(fake.root, 'sandboxer', 'sbx');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, MARKER_FILE), markerContent({ sandbox_id: id }));
    writeFileSync(join(dir, 'keep'), '');
    const result = fake.run(removeWorkspaceCommand(dir, id));
    expect(fake.pwned()).toEqual([]);
    // The check greps for the raw id, the marker holds it JSON-escaped: ids with " or \ never
    // match. Real ids are [a-z0-9]{12}, so this only shows the check fails closed.
    const matches = JSON.stringify(id) === `"${id}"`;
    expect(result.stdout).toBe(matches ? 'removed\n' : 'foreign\n');
    expect(existsSync(join(dir, 'keep'))).toBe(!matches);
  });
});

describe('workspaceRemoval', () => {
  const dir = `/srv/sandboxer/sbx-${ID}`;
  const foreign = {
    removed: [],
    leftovers: [
      `directory ${dir} on u@h:22 is not marked as this sandbox's (its ${MARKER_FILE} is missing or names another sandbox); not deleted — inspect and remove it by hand`,
    ],
    existed: true,
  };

  test.each([
    ['removed\n', { removed: [`directory ${dir}`], leftovers: [], existed: true }],
    ['absent\n', { removed: [], leftovers: [], existed: false }],
    ['foreign\n', foreign],
    ['some motd\nremoved\n', { removed: [`directory ${dir}`], leftovers: [], existed: true }],
    ['  removed  ', { removed: [`directory ${dir}`], leftovers: [], existed: true }],
    ['', foreign],
    ['removed\nforeign\n', foreign],
    [
      'rm-failed\n',
      {
        removed: [],
        leftovers: [
          `directory ${dir} on u@h:22 could not be deleted completely (files owned by another user, e.g. root from a container?); remove it with: sudo rm -rf ${dir}`,
        ],
        existed: true,
      },
    ],
  ])('%j', (output, expected) => {
    expect(workspaceRemoval(output, dir, 'u@h:22')).toEqual(expected);
  });
});

describe('sandboxDirOf', () => {
  test.each([
    ['/srv/sandboxer', ID, `/srv/sandboxer/sbx-${ID}`],
    ['/home/u/sandboxer', OTHER, `/home/u/sandboxer/sbx-${OTHER}`],
    ['/home/u/sandboxer', '000000000000', '/home/u/sandboxer/sbx-000000000000'],
    ["/srv/it's here", ID, `/srv/it's here/sbx-${ID}`],
  ])('%s + %s → %s', (base, id, expected) => {
    expect(sandboxDirOf(base, id)).toBe(expected);
  });

  // Only a real id (12 of [a-z0-9]) names a directory: nothing can nest, climb or drop the sbx- prefix.
  test.each([
    ['too short', 'x'],
    ['empty', ''],
    ['a slash', 'a/b'],
    ['.. cancelling the prefix', 'x/../y'],
    ['climbing out', '../..'],
    ['climbing further', 'x/../../../etc'],
    ['12 characters with ..', 'abc123def/..'],
    ['one too long', `${ID}0`],
    ['one too short', ID.slice(1)],
    ['upper case', ID.toUpperCase()],
    ['with the sbx- prefix', `sbx-${ID}`],
    ['a trailing newline', `${ID}\n`],
    ['a space', 'abc123 def45'],
  ])('refuses the id: %s (%j)', (_name, id) => {
    expect(() => sandboxDirOf('/srv/sandboxer', id)).toThrow(InputError);
    expect(() => sandboxDirOf('/srv/sandboxer', id)).toThrow(
      `refusing unexpected sandbox id ${JSON.stringify(id)}`,
    );
  });

  test.each(['relative', '/', '/srv/../etc', '/srv//x', '~/sandboxer', '/srv/a\nb'])(
    'refuses the base %j',
    (base) => {
      expect(() => sandboxDirOf(base, ID)).toThrow(InputError);
    },
  );
});

describe('resolveBaseDir', () => {
  const session = (home: string) => ({ home: async () => home }) as unknown as SshSession;

  test.each([
    ['~', '/home/u', '/home/u'],
    ['~/', '/home/u', '/home/u'],
    ['~/sandboxer', '/home/u', '/home/u/sandboxer'],
    ['~/a b/c', '/home/u', '/home/u/a b/c'],
    ['/srv/sandboxer', '/home/u', '/srv/sandboxer'],
    ['/srv/sandboxer///', '/home/u', '/srv/sandboxer'],
  ])('%j with home %j → %j', async (configured, home, expected) => {
    await expect(resolveBaseDir(session(home), configured, 'base_dir')).resolves.toBe(expected);
  });

  // An empty $HOME would otherwise put the sandboxes at the root (`~/x` → `/x`).
  test.each([
    ['~/x', ''],
    ['~', ''],
    ['~/sandboxer', 'home/u'],
    ['~/sandboxer', '~'],
  ])('refuses %j when $HOME on the host is %j', async (configured, home) => {
    await expect(resolveBaseDir(session(home), configured, 'base_dir')).rejects.toThrow(InputError);
    await expect(resolveBaseDir(session(home), configured, 'base_dir')).rejects.toThrow(
      `base_dir ${configured}: the login user's $HOME on the host is not an absolute path`,
    );
  });

  test('does not ask for the home directory when the path is absolute', async () => {
    const noHome = {
      home: async () => {
        throw new Error('home() called');
      },
    } as unknown as SshSession;
    await expect(resolveBaseDir(noHome, '/srv/x', 'base_dir')).resolves.toBe('/srv/x');
  });

  test.each([
    ['relative', 'sandboxer', '/home/u', 'sandboxer'],
    ['~user is not expanded', '~other/x', '/home/u', '~other/x'],
    ['/', '/', '/home/u', '/'],
    ['..', '/srv/../etc', '/home/u', '/srv/../etc'],
    ['~ when home is /', '~', '/', '/'],
    ['~/.. escaping home', '~/../x', '/home/u', '/home/u/../x'],
    ['a home with a trailing slash', '~/x', '/home/u/', '/home/u//x'],
  ])('refuses %s', async (_name, configured, home, shown) => {
    const attempt = resolveBaseDir(session(home), configured, 'base_dir');
    await expect(attempt).rejects.toThrow(InputError);
    await expect(resolveBaseDir(session(home), configured, 'base_dir')).rejects.toThrow(
      `base_dir ${JSON.stringify(shown)} must be an absolute, normalised path`,
    );
  });
});
