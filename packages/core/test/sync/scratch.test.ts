import { existsSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, test, vi } from 'vitest';
import { sweepStaleScratch } from '../../src/sync/scratch.js';
import { tempDir } from '../support/fixtures.js';

/** Key scratch directories live in this user's own parent under RUNNER_TEMP (or the temp dir). */
describe('sweepStaleScratch and the scratch parent', () => {
  afterEach(() => vi.unstubAllEnvs());
  const parentIn = (root: string) => join(root, `sandboxer-scratch-${process.getuid?.() ?? 'user'}`);

  test('removes the scratch of dead processes only, in the private parent (made 0700)', () => {
    const root = tempDir('sbx-scratch-');
    vi.stubEnv('RUNNER_TEMP', root);
    const parent = parentIn(root);
    mkdirSync(parent, { mode: 0o700 });
    const dead = join(parent, 'sandboxer-sync-999999999-abc');
    const alive = join(parent, `sandboxer-sync-${process.pid}-abc`);
    const other = join(parent, 'something-else');
    for (const dir of [dead, alive, other]) mkdirSync(dir);
    expect(sweepStaleScratch()).toEqual([dead]);
    expect([dead, alive, other].map(existsSync)).toEqual([false, true, true]);
  });

  test('gc also sweeps the temp root itself, where earlier versions put them', () => {
    const root = tempDir('sbx-scratch-');
    vi.stubEnv('RUNNER_TEMP', root);
    const legacy = join(root, 'sandboxer-sync-999999999-old');
    mkdirSync(legacy);
    expect(sweepStaleScratch()).toEqual([]);
    expect(sweepStaleScratch(undefined, { legacy: true })).toEqual([legacy]);
  });

  // In a shared /tmp someone else may have made it first: then the temp root is used, as before.
  test.each([
    [
      'a symlink',
      (parent: string, root: string) => {
        mkdirSync(join(root, 'elsewhere'));
        symlinkSync(join(root, 'elsewhere'), parent);
      },
    ],
    ['readable by others', (parent: string) => mkdirSync(parent, { mode: 0o755 })],
  ])('a parent that is %s is not used: the temp root is swept instead', (_what, makeParent) => {
    const root = tempDir('sbx-scratch-');
    vi.stubEnv('RUNNER_TEMP', root);
    makeParent(parentIn(root), root);
    const dead = join(root, 'sandboxer-sync-999999999-abc');
    mkdirSync(dead);
    writeFileSync(join(parentIn(root), 'sandboxer-sync-999999999-x'), 'not ours to judge');
    expect(sweepStaleScratch()).toEqual([dead]);
    expect(existsSync(join(parentIn(root), 'sandboxer-sync-999999999-x'))).toBe(true);
  });
});
