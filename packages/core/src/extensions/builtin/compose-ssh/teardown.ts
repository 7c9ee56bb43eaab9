import { RemoteCommandError } from '../../../errors.js';
import type { CleanupReport, SandboxHandle } from '../../../records/handle.js';
import type { SshSession } from '../../../ssh/session.js';
import { lastLines } from '../../../ssh/tail-buffer.js';
import type { OperationOptions } from '../../contract.js';
import { sandboxDirOf, workspaceRemoval } from '../remote-workspace/workspace.js';
import {
  type ComposeRuntime,
  cleanUpScript,
  composeCommand,
  composeDownArgs,
  composeRuntime,
  stopProjectCommandsCommand,
  TEARDOWN_SECTION,
} from './commands.js';
import { DEFAULT_STOP_GRACE } from './inputs.js';
import type { ComposeHandle } from './stack.js';
import { parseContainers } from './status.js';

/**
 * Takes one sandbox's stack down and removes its directory, from a full handle or a minimal one
 * (a rollback, or a record whose provision never returned): stop any compose command still running
 * for it, `compose down` when the compose files are known, then sweep what carries its label,
 * remove the directory if it is ours, and list what is left (with how to remove it by hand).
 */
export async function tearDownStack(
  session: SshSession,
  handle: Partial<ComposeHandle> & SandboxHandle,
  engines: Array<ComposeRuntime['engine']>,
  base: string,
  options: OperationOptions = {},
): Promise<CleanupReport> {
  const projectName = `sbx-${handle.sandbox_id}`;
  const dir = sandboxDirOf(base, handle.sandbox_id);
  const removed: string[] = [];
  // A create that was cancelled may have left `compose up` running on the host: stopped first.
  const stop = stopProjectCommandsCommand(projectName);
  let down: string | undefined;
  if (handle.compose_files && handle.compose_command) {
    // A graceful stop first (services get stop_timeout to exit), then the label sweep below.
    const runtime = composeRuntime(handle.compose_command);
    const args = composeDownArgs(runtime, handle.stop_timeout ?? DEFAULT_STOP_GRACE);
    options.progress?.(`${runtime.words.join(' ')} -p ${projectName} ${args.join(' ')}`);
    const project = { runtime, dir, project: projectName, files: handle.compose_files, env: {} };
    // In a subshell: it `cd`s into the directory that the cleanup then removes.
    down = `(${composeCommand(project, ...args)}) >/dev/null 2>&1; echo "down-exit=$?"`;
  }
  // One round trip for all of it, as a script on stdin (the remote command line is then `sh -s`,
  // which the stop's `pkill -f` pattern cannot match: it would kill this very shell): the stop, the
  // `down`, then the label sweep, the directory's removal, the check for leftovers and — only when
  // nothing is left and the directory went — disarming the switch; until then it still stands guard
  // at the expiry.
  const cleanUp = cleanUpScript(
    engines.map((engine) => ({ engine })),
    projectName,
    base,
    dir,
    handle.sandbox_id,
    handle.sync_cache,
  );
  const result = await session.exec('sh -s', {
    // One group, read whole before it runs, with its stdin closed: a command that reads stdin
    // (rootless podman-compose does) must not swallow the rest of the script.
    stdin: `{\n${[stop, ...(down ? [down] : []), cleanUp].join('\n')}\n} </dev/null\n`,
    what: 'compose down and removing labelled resources and the directory',
    timeoutMs: 10 * 60_000,
  });
  if (result.code !== 0 || result.timedOut) {
    const tail = lastLines(result.stderr.trim(), 20);
    throw new RemoteCommandError(
      `removing labelled resources and the directory on ${session.destination} failed (${result.timedOut ? 'timed out' : `exit ${result.code}`})${tail ? `:\n${tail}` : ''}`,
      result.code,
    );
  }
  const downExit = /^down-exit=(\d+)\n/.exec(result.stdout);
  if (downExit?.[1] === '0') removed.push(`compose project ${projectName}`);
  const [swept = '', removal = '', check = ''] = result.stdout
    .slice(downExit?.[0].length ?? 0)
    .split(`${TEARDOWN_SECTION}\n`);
  removed.push(...swept.split('\n').filter(Boolean));
  const workspace = workspaceRemoval(removal, dir, session.destination);
  removed.push(...workspace.removed);
  const leftovers = [
    ...workspace.leftovers,
    ...parseContainers(check).map(
      (c) =>
        `container ${c.id.slice(0, 12)} of ${projectName} (remove with: ${engines.join(' or ')} rm -f -v ${c.id.slice(0, 12)})`,
    ),
  ];
  return { removed, leftovers, already_gone: removed.length === 0 && !workspace.existed };
}
