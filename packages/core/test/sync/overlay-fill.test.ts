import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import {
  MARKER_FILE,
  removeWorkspaceCommand,
} from '../../src/extensions/builtin/remote-workspace/workspace.js';
import { fillFromCacheScript, layerDirOf, overlayFillScript } from '../../src/sync/host-cache.js';
import { tempDir } from '../support/fixtures.js';

/**
 * The copy-free fill (issue 22), for real: as root on a kernel with overlayfs (CI's machine), the
 * cache becomes the sandbox's read-only lower layer. Elsewhere these tests are skipped: the fill
 * then copies, as the sync-cache tests show.
 */

const canMount =
  process.getuid?.() === 0 && readFileSync('/proc/filesystems', 'utf8').split(/\s+/).includes('overlay');

const ID = 'abcdefabcdef';
const roots: string[] = [];
afterAll(() => {
  for (const root of roots) {
    spawnSync('umount', ['-l', join(root, `sbx-${ID}`)]);
    rmSync(root, { recursive: true, force: true });
  }
});

/** A base with a cache of two files and a fresh sandbox directory holding only its marker. */
function host() {
  const base = tempDir('sbx-overlay-');
  roots.push(base);
  const cache = join(base, '.sandboxer-cache', '0123456789abcdef');
  mkdirSync(join(cache, 'src'), { recursive: true });
  writeFileSync(join(cache, 'README.md'), 'cached readme\n');
  writeFileSync(join(cache, 'src', 'app.txt'), 'cached app\n');
  const dir = join(base, `sbx-${ID}`);
  mkdirSync(dir);
  writeFileSync(join(dir, MARKER_FILE), `{"sandbox_id":"${ID}"}\n`);
  return { base, cache, dir };
}

const sh = (script: string, path = process.env.PATH ?? '/usr/bin:/bin') =>
  spawnSync('/bin/sh', ['-c', script], { encoding: 'utf8', env: { PATH: path } });
const mounted = (dir: string) => readFileSync('/proc/mounts', 'utf8').includes(` ${dir} overlay `);

describe.skipIf(!canMount)('the cache as an overlay layer', () => {
  test('nothing copied; the sandbox sees the cache and its marker; its writes never reach the cache', () => {
    const { cache, dir } = host();
    const fill = sh(overlayFillScript(cache, dir, fillFromCacheScript(cache, dir, [MARKER_FILE])));
    expect(fill.status, fill.stderr).toBe(0);
    expect(fill.stderr).toContain('sandboxer-fill: overlay');
    expect(mounted(dir)).toBe(true);
    expect(readFileSync(join(dir, 'src', 'app.txt'), 'utf8')).toBe('cached app\n');
    expect(readFileSync(join(dir, MARKER_FILE), 'utf8')).toContain(ID);
    // The lower layer shares the cache's inodes (hard links), the sandbox never does.
    expect(statSync(join(layerDirOf(dir), 'lower', 'README.md')).ino).toBe(
      statSync(join(cache, 'README.md')).ino,
    );
    expect(statSync(join(dir, 'README.md')).nlink).toBeGreaterThan(0);
    writeFileSync(join(dir, 'README.md'), 'changed by the sandbox\n');
    sh(`chmod 600 ${join(dir, 'src', 'app.txt')} && rm -- ${join(dir, 'src', 'app.txt')}`);
    expect(readFileSync(join(cache, 'README.md'), 'utf8')).toBe('cached readme\n');
    expect(readFileSync(join(cache, 'src', 'app.txt'), 'utf8')).toBe('cached app\n');
    expect(statSync(join(cache, 'src', 'app.txt')).mode & 0o777).not.toBe(0o600);

    // Teardown: unmounted, the directory and its layers gone, the cache as it was.
    const removed = sh(removeWorkspaceCommand(dir, ID));
    expect(removed.stdout.trim()).toBe('removed');
    expect(mounted(dir)).toBe(false);
    expect(existsSync(dir)).toBe(false);
    expect(existsSync(layerDirOf(dir))).toBe(false);
    expect(readFileSync(join(cache, 'README.md'), 'utf8')).toBe('cached readme\n');
  });

  test('where the mount cannot be made, the fill copies instead and says so', () => {
    const { cache, dir } = host();
    // A PATH without mount(8): as a host (or container) that may not mount.
    const bin = tempDir('sbx-nomount-');
    roots.push(bin);
    for (const tool of ['sh', 'mkdir', 'cp', 'rm', 'rsync', 'rmdir', 'mv']) {
      const found = sh(`command -v ${tool}`).stdout.trim();
      if (found) spawnSync('ln', ['-s', found, join(bin, tool)]);
    }
    const fill = sh(overlayFillScript(cache, dir, fillFromCacheScript(cache, dir, [MARKER_FILE])), bin);
    expect(fill.status, fill.stderr).toBe(0);
    expect(fill.stderr).toContain('sandboxer-fill: copy');
    expect(mounted(dir)).toBe(false);
    expect(existsSync(layerDirOf(dir))).toBe(false);
    expect(readFileSync(join(dir, 'src', 'app.txt'), 'utf8')).toBe('cached app\n');
    expect(statSync(join(dir, 'README.md')).ino).not.toBe(statSync(join(cache, 'README.md')).ino);
  });

  test("paths overlayfs's options cannot carry (a comma) are filled by copy", () => {
    expect(overlayFillScript('/srv/a,b/.sandboxer-cache/k', '/srv/a,b/sbx-x', 'COPY')).toBe('COPY');
  });
});
