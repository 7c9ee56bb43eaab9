import type { Readable } from 'node:stream';
import type { ClientChannel } from 'ssh2';
import { GroupReport } from './process-group.js';
import { TailBuffer } from './tail-buffer.js';

/** One remote command on an open SSH channel: its streams, time limit, stopping, exit. */

export interface ExecOptions {
  stdin?: string | Readable;
  timeoutMs?: number;
  /** Keep at most this many bytes of stdout and of stderr (the tail); streams are never buffered whole. */
  maxOutputBytes?: number;
  onStdout?: (chunk: Buffer) => void;
  onStderr?: (chunk: Buffer) => void;
  /**
   * Stops the command when aborted: TERM, then KILL, to its whole process group (so what it started
   * goes too); the result says `timedOut`.
   */
  signal?: AbortSignal;
  /** A short description for errors: "compose up", "mkdir". */
  what?: string;
}

export interface ExecResult {
  code: number | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

/** How long a stopped command's channel may take to close before the caller stops waiting. */
const STOP_GRACE_MS = 3000;

/** What running on a channel needs from its connection. */
export interface ChannelContext {
  timeoutMs: number;
  maxOutputBytes: number;
  /** Why the connection ended, if it has: a close without exit status is then the connection's fault. */
  lost: () => Error | undefined;
  /** Kills a process group on the same host (over another channel). */
  killGroup: (pgid: number) => void;
}

/**
 * The command line to run: a stoppable command (one with a signal) first reports its process
 * group (sshd makes each command a session leader), which `runOnChannel` takes off stderr.
 */
export function remoteCommand(cmd: string, options: ExecOptions): { remote: string; group?: GroupReport } {
  if (!options.signal) return { remote: cmd };
  return { remote: `${GroupReport.PREFIX} ${cmd}`, group: new GroupReport() };
}

/** Streams output into bounded buffers and callbacks; resolves on exit, timeout or stop. */
export function runOnChannel(
  channel: ClientChannel,
  options: ExecOptions,
  context: ChannelContext,
  group: GroupReport | undefined,
): Promise<ExecResult> {
  const stdout = new TailBuffer(context.maxOutputBytes);
  const stderr = new TailBuffer(context.maxOutputBytes);
  return new Promise<ExecResult>((resolve, reject) => {
    let code: number | null = null;
    let settled = false;
    let stopped = false;
    const finish = (timedOut: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({
        code: timedOut ? null : code,
        stdout: stdout.text(),
        stderr: stderr.text(),
        timedOut: timedOut || stopped,
      });
    };
    const timer = setTimeout(() => {
      // Closing our end alone does not stop the remote process; ask sshd to kill it too.
      channel.signal('KILL');
      channel.close();
      finish(true);
    }, context.timeoutMs);
    channel.on('data', (chunk: Buffer) => {
      stdout.push(chunk);
      options.onStdout?.(chunk);
    });
    channel.stderr.on('data', (data: Buffer) => {
      const chunk = group ? group.take(data) : data;
      if (chunk.length === 0) return;
      stderr.push(chunk);
      options.onStderr?.(chunk);
    });
    options.signal?.addEventListener(
      'abort',
      () => {
        stopped = true;
        // Killed, the group's processes end and sshd closes the channel (without an exit code);
        // if that does not come soon, stop waiting for it.
        if (group?.pgid) context.killGroup(group.pgid);
        channel.signal('KILL');
        setTimeout(() => {
          channel.close();
          finish(true);
        }, STOP_GRACE_MS).unref();
      },
      { once: true },
    );
    channel.on('exit', (exitCode: number | null) => {
      code = exitCode;
    });
    const fail = (failure: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      channel.close();
      reject(failure);
    };
    channel.on('close', () => {
      // No exit status and the connection gone: the command did not fail, the connection did.
      const lost = context.lost();
      if (code === null && lost && !stopped) fail(lost);
      else finish(false);
    });
    channel.on('error', fail);
    const { stdin } = options;
    if (stdin === undefined) channel.end();
    else if (typeof stdin === 'string') channel.end(stdin);
    else {
      stdin.on('error', fail);
      stdin.pipe(channel);
    }
  });
}
