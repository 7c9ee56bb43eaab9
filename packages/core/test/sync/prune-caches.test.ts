import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { parsePrunedCaches, pruneCachesCommand } from '../../src/sync/host-cache.js';
import { tempDir } from '../support/fixtures.js';

/**
 * `gc`'s pruning of the host's sync caches, run in a real /bin/sh (dash on Debian) with a real
 * `flock`, over a cache directory laid out as syncs leave it.
 */

const hasFlock = spawnSync('flock', ['--version'], { stdio: 'ignore' }).status === 0;
const DAY_MS = 24 * 3600_000;
const key = (c: string) => c.repeat(16);

/** A cache as syncs leave it: `<key>/`, `<key>.lock`, optionally its spare and a spare in the making. */
function cache(base: string, k: string, options: { usedDaysAgo?: number; lock?: boolean; spare?: boolean }) {
  mkdirSync(join(base, k, 'src'), { recursive: true });
  writeFileSync(join(base, k, 'src', 'app.js'), 'x'.repeat(4096));
  if (options.spare) {
    mkdirSync(join(base, `${k}.spare`));
    writeFileSync(join(base, `${k}.spare`, 'app.js'), 'x'.repeat(4096));
    mkdirSync(join(base, `${k}.spare-tmp.123`));
  }
  const when = new Date(Date.now() - (options.usedDaysAgo ?? 0) * DAY_MS);
  if (options.lock !== false) {
    writeFileSync(join(base, `${k}.lock`), '');
    utimesSync(join(base, `${k}.lock`), when, when);
  } else {
    utimesSync(join(base, k), when, when);
  }
}

function prune(base: string, days: number, dryRun = false) {
  const result = spawnSync('/bin/sh', ['-c', pruneCachesCommand(base, days * 24 * 60, dryRun)], {
    encoding: 'utf8',
  });
  expect(result.status, result.stderr).toBe(0);
  return parsePrunedCaches(result.stdout);
}

const holders: Array<ReturnType<typeof spawn>> = [];
afterEach(() => {
  for (const holder of holders.splice(0)) holder.kill();
});

describe.skipIf(!hasFlock)('pruneCachesCommand: sync caches unused for longer than the limit', () => {
  test('an old cache goes with its spares and keeps its lock file; a recent one stays', () => {
    const base = tempDir();
    cache(base, key('a'), { usedDaysAgo: 20, spare: true });
    cache(base, key('b'), { usedDaysAgo: 2, spare: true });
    const pruned = prune(base, 14);
    expect(pruned).toEqual([
      { key: key('a'), result: 'removed', lastUsed: expect.any(Date), sizeKiB: expect.any(Number) },
    ]);
    const [a] = pruned;
    expect(Math.abs((a?.lastUsed.getTime() ?? 0) - (Date.now() - 20 * DAY_MS))).toBeLessThan(2000);
    expect(a?.sizeKiB).toBeGreaterThanOrEqual(8);
    expect(readdirSync(base).sort()).toEqual(
      [
        `${key('a')}.lock`,
        key('b'),
        `${key('b')}.lock`,
        `${key('b')}.spare`,
        `${key('b')}.spare-tmp.123`,
      ].sort(),
    );
  });

  test('without a lock file (its first sync never took the lock), the directory says when', () => {
    const base = tempDir();
    cache(base, key('c'), { usedDaysAgo: 30, lock: false });
    expect(prune(base, 14).map((p) => [p.key, p.result])).toEqual([[key('c'), 'removed']]);
    expect(existsSync(join(base, key('c')))).toBe(false);
  });

  test('a cache whose lock is held (a create is using it) is reported in use and left alone', async () => {
    const base = tempDir();
    cache(base, key('d'), { usedDaysAgo: 20 });
    const holder = spawn('flock', [join(base, `${key('d')}.lock`), 'sleep', '30'], { stdio: 'ignore' });
    holders.push(holder);
    // Until the holder has the lock, a prune could still win: wait for it.
    for (let i = 0; i < 100; i++) {
      if (spawnSync('flock', ['-n', join(base, `${key('d')}.lock`), 'true']).status !== 0) break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(prune(base, 14).map((p) => [p.key, p.result])).toEqual([[key('d'), 'in-use']]);
    expect(existsSync(join(base, key('d'), 'src', 'app.js'))).toBe(true);
  });

  test('a dry run lists without removing; names it did not make are never touched', () => {
    const base = tempDir();
    cache(base, key('e'), { usedDaysAgo: 20 });
    for (const name of ['notes', 'ABCDEF0123456789', `${key('f').slice(1)}`, '0123456789abcdef0', 'x y']) {
      mkdirSync(join(base, name));
      const old = new Date(Date.now() - 40 * DAY_MS);
      utimesSync(join(base, name), old, old);
    }
    expect(prune(base, 14, true).map((p) => [p.key, p.result])).toEqual([[key('e'), 'dry-run']]);
    expect(existsSync(join(base, key('e')))).toBe(true);
    expect(prune(base, 14).map((p) => [p.key, p.result])).toEqual([[key('e'), 'removed']]);
    expect(readdirSync(base).sort()).toEqual(
      [
        `${key('e')}.lock`,
        'notes',
        'ABCDEF0123456789',
        `${key('f').slice(1)}`,
        '0123456789abcdef0',
        'x y',
      ].sort(),
    );
  });

  test('no cache directory on the host: nothing to do, and a limit of 0 minutes is allowed', () => {
    expect(prune(join(tempDir(), 'absent'), 0)).toEqual([]);
    expect(() => pruneCachesCommand('/srv/x', -1, false)).toThrow(/not a number of minutes/);
  });
});
