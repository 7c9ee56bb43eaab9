import type { SandboxHandle } from '../../../records/handle.js';
import type { SshSession } from '../../../ssh/session.js';
import type { ExecRequest, LogOptions } from '../../contract.js';
import { execOnHost, workspaceExecCommand } from '../remote-workspace/channel.js';
import { sandboxDirOf } from '../remote-workspace/workspace.js';
import { type ComposeRuntime, inspectProjectCommand, logsCommand, serviceExecCommand } from './commands.js';
import type { ComposeHandle } from './stack.js';
import { parseContainers } from './status.js';

/** Working with a running stack: commands in it, and its services' logs. */

/** Runs argv in a service's container (`service`), else in the sandbox directory on the host. */
export function execInStack(
  session: SshSession,
  handle: Partial<ComposeHandle> & SandboxHandle,
  runtime: ComposeRuntime,
  base: string,
  request: ExecRequest,
): Promise<number> {
  const remote = request.service
    ? serviceExecCommand(runtime, `sbx-${handle.sandbox_id}`, request.service, request.argv)
    : workspaceExecCommand(handle.remote_dir ?? sandboxDirOf(base, handle.sandbox_id), request.argv);
  return execOnHost(session, remote, request);
}

/**
 * Each (selected) service's log: the last `lines`, one service at a time (one channel at a time);
 * with `follow`, every service's at once on one connection, each chunk as it comes, until aborted.
 */
export async function stackLogs(
  session: SshSession,
  handle: SandboxHandle,
  runtime: ComposeRuntime,
  options: LogOptions,
): Promise<void> {
  const containers = parseContainers(
    await session.run(inspectProjectCommand(runtime, `sbx-${handle.sandbox_id}`), {
      what: 'inspecting the stack',
    }),
  ).filter((c) => !options.services?.length || options.services.includes(c.service));
  const read = (c: (typeof containers)[number]) =>
    session.exec(
      logsCommand(runtime, c.id, {
        lines: options.lines,
        ...(options.since ? { since: options.since } : {}),
        ...(options.follow ? { follow: true } : {}),
      }),
      {
        what: `reading the log of ${c.service}`,
        ...(options.follow
          ? {
              onStdout: (chunk: Buffer) => options.write(c.service, chunk.toString('utf8')),
              maxOutputBytes: 4096,
              timeoutMs: 7 * 24 * 3600 * 1000,
              ...(options.signal ? { signal: options.signal } : {}),
            }
          : { maxOutputBytes: options.maxBytes }),
      },
    );
  if (options.follow) {
    await Promise.all(containers.map(read));
    return;
  }
  for (const c of containers) options.write(c.service, (await read(c)).stdout);
}
