import { existsSync, mkdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, test, vi } from 'vitest';
import { ProvisionError } from '../../src/errors.js';
import { sweepStaleScratch } from '../../src/sync/repo-sync.js';
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

  test('a parent that is a symlink (someone else made it first in a shared /tmp) is refused', () => {
    const root = tempDir('sbx-scratch-');
    vi.stubEnv('RUNNER_TEMP', root);
    const elsewhere = join(root, 'elsewhere');
    mkdirSync(elsewhere);
    symlinkSync(elsewhere, parentIn(root));
    expect(() => sweepStaleScratch()).toThrow(ProvisionError);
    expect(() => sweepStaleScratch()).toThrow(/not a private directory of this user/);
  });

  test('a parent readable by others is refused', () => {
    const root = tempDir('sbx-scratch-');
    vi.stubEnv('RUNNER_TEMP', root);
    mkdirSync(parentIn(root), { mode: 0o755 });
    expect(() => sweepStaleScratch()).toThrow(/readable by others/);
  });
});
