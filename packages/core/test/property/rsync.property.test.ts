import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it, test } from 'vitest';
import { SandboxerError } from '../../src/errors.js';
import { BRIDGE_HOST, type RsyncPlan, rsyncArgs } from '../../src/sync/rsync-args.js';
import {
  fcOptions,
  hostileFileName,
  hostileString,
  parseDump,
  pwnedFiles,
  removeScratch,
  shellWithStandIns,
  thrown,
} from './support.js';

afterAll(removeScratch);
/**
 * The rsync invocation that syncs a repo: rsync runs without a shell, but splits its own `-e`
 * argument. Real rsync, with a stand-in remote shell, must hand it exactly the words rsyncArgs
 * meant (the bridge program and its socket, in a scratch directory from RUNNER_TEMP or TMPDIR),
 * whatever the repo path, the scratch directory or the remote directory hold.
 */

const hasRsync = spawnSync('rsync', ['--version'], { stdio: 'ignore' }).status === 0;

/** What rsyncArgs cannot put into rsync's `-e` (rsync has no escape for them). */
const inexpressible = (word: string) => /['\n\r\0]/.test(word);

describe.skipIf(!hasRsync)('rsyncArgs with a real rsync', () => {
  const shell = shellWithStandIns(['ssh']);
  let n = 0;

  test('the remote shell gets exactly the intended words; the repo and remote paths are never split or expanded', () => {
    fc.assert(
      fc.property(
        hostileFileName(),
        hostileFileName(),
        hostileString(16),
        (scratchName, repoName, remote) => {
          const caseDir = join(shell.root, `case-${n++}`);
          const scratch = join(caseDir, scratchName);
          const repo = join(caseDir, 'repos', repoName);
          mkdirSync(scratch, { recursive: true });
          mkdirSync(repo, { recursive: true });
          writeFileSync(join(repo, 'f'), 'x\n');
          const filterFile = join(scratch, 'filter');
          writeFileSync(filterFile, '');
          const rsh = [join(shell.bin, 'ssh'), join(scratch, 'bridge.cjs'), join(scratch, 'rsync.sock')];
          const plan: RsyncPlan = { localDir: repo, remoteDir: `/remote-MARK/${remote}`, rsh, filterFile };
          let args: string[] | undefined;
          const error = thrown(() => {
            args = rsyncArgs(plan);
          });
          if (inexpressible(scratch)) {
            expect(String(error)).toContain('to rsync -e');
            return;
          }
          expect(error).toBeUndefined();
          const dump = join(caseDir, 'dump');
          writeFileSync(dump, '');
          spawnSync('rsync', args as string[], {
            env: { PATH: `${shell.bin}:/usr/bin:/bin`, LC_ALL: 'C', DUMP_FILE: dump },
            timeout: 10_000,
          });
          const calls = parseDump(readFileSync(dump));
          expect(calls).toHaveLength(1);
          const words = [...rsh.slice(1), BRIDGE_HOST];
          expect(calls[0]?.args.slice(0, words.length)).toEqual(words);
          expect(calls[0]?.args[words.length]).toBe('rsync');
          // --protect-args: the remote directory travels as data, not on the remote command line.
          expect(calls[0]?.args.join('\n')).not.toContain('remote-MARK');
          expect(pwnedFiles(caseDir)).toEqual([]);
        },
      ),
      fcOptions(60),
    );
  });

  // Found by this suite (low severity): a scratch directory rsync -e cannot express (RUNNER_TEMP or
  // TMPDIR with a single quote or a newline) is refused with a plain Error, which the CLI reports as
  // an internal error (exit 1) instead of a typed error that says what to change.
  it('an inexpressible scratch path is refused with a typed error', () => {
    const error = thrown(() =>
      rsyncArgs({
        localDir: '/r',
        remoteDir: '/d',
        rsh: ['node', "/tmp/it's/bridge.cjs"],
        filterFile: '/tmp/f',
      }),
    );
    expect(error).toBeInstanceOf(SandboxerError);
  });
});
