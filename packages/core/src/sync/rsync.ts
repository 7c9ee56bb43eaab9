import { type ChildProcess, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { ProvisionError } from '../errors.js';
import { lastLines, TailBuffer } from '../ssh/tail-buffer.js';
import { loadRepoIgnore } from './ignore-rules.js';
import type { SyncRequest, TransferCounts } from './request.js';
import { parseRsyncStats, rsyncArgs, rsyncFilterRules } from './rsync-args.js';
import { BRIDGE_FD, type BridgedCommand, bridgeRemoteShell, serveBridge } from './rsync-bridge.js';
import { makeScratchDir, removeScratchDir } from './scratch.js';

/** What rsync's exit codes mean (rsync(1), EXIT VALUES), for when its message is lost. */
const RSYNC_EXIT: Record<number, string> = {
  5: 'error starting the client-server protocol',
  10: 'error in socket I/O (the connection dropped?)',
  11: "error in file I/O (is the host's disk full?)",
  12: 'error in the rsync protocol data stream (the connection dropped?)',
  23: 'partial transfer due to an error',
  30: 'timeout in data send/receive',
  255: 'the SSH channel failed',
};

/** rsync processes running now, so a cancelled caller can stop them before it exits. */
const running = new Set<ChildProcess>();

/** Stops every rsync this process started (a cancelled step is about to exit). */
export function stopRsyncs(): void {
  for (const child of running) child.kill('SIGTERM');
}

/**
 * rsync over the session's own SSH connection (rsync-bridge.ts), with the bridge and the filter
 * rules in a private scratch directory that lives as long as one rsync run. `rsyncPath` replaces
 * the remote rsync (the cache's locked one).
 */
export async function viaRsync(request: SyncRequest, rsyncPath?: string): Promise<TransferCounts> {
  const { session } = request;
  const scratch = makeScratchDir();
  let result: RsyncResult;
  try {
    const filterFile = join(scratch, 'filter');
    const args = rsyncArgs({
      localDir: request.localDir,
      remoteDir: request.remoteDir,
      rsh: bridgeRemoteShell(scratch),
      filterFile,
      ...(request.deleteExcluded ? { deleteExcluded: true } : {}),
      ...(rsyncPath ? { rsyncPath } : {}),
    });
    writeFilter(request, filterFile);
    result = await runRsync(args, (socket) =>
      serveBridge(socket, session, scratch, `${rsyncPath ?? 'rsync'} --server `),
    );
  } finally {
    removeScratchDir(scratch);
  }
  if (result.code === 0) {
    // The cache's fill says on stderr how it filled the sandbox (host-cache.ts).
    const fill = /^sandboxer-fill: (overlay|copy)$/m.exec(result.stderr)?.[1] as
      | 'overlay'
      | 'copy'
      | undefined;
    return { ...parseRsyncStats(result.stdout), ...(fill ? { fill } : {}) };
  }
  const tail = lastLines(result.stderr.trim(), 10);
  // rsync's own text does not always reach us (a dead connection): its exit code still says what broke.
  const code = result.code ?? 'signal';
  const meaning = RSYNC_EXIT[Number(code)];
  throw new ProvisionError(
    `rsync to ${session.destination} failed (exit ${code}${meaning ? `: ${meaning}` : ''})${tail ? `: ${tail}` : ''}`,
  );
}

/** The filter rules: protected files, then the repo's ignore file. */
function writeFilter(request: SyncRequest, filterFile: string): void {
  // Protected files are neither deleted nor overwritten: a repo file of the same name is left out.
  const protect = (request.protect ?? []).flatMap((name) => [`P /${name}`, `- /${name}`]);
  const rules = [...protect, ...rsyncFilterRules(loadRepoIgnore(request.localDir).patterns)];
  writeFileSync(filterFile, `${rules.join('\n')}\n`);
}

/** What a finished rsync left: its output and, when it failed, its exit code. */
interface RsyncResult {
  stdout: string;
  stderr: string;
  code: number | null;
}

/**
 * Runs rsync with one end of a socket pair as its descriptor 3, for its remote shell (the bridge)
 * to inherit; `serve` runs what comes over it. What the host said (the cache's lock and fill, the
 * remote rsync's own errors) comes over the channel and is added to rsync's stderr. Nothing of it
 * outlives this process, even killed by SIGKILL: the bridge sees the socket pair close and ends,
 * and rsync ends with its remote shell.
 */
function runRsync(args: string[], serve: (socket: Duplex) => BridgedCommand): Promise<RsyncResult> {
  return new Promise((resolve, reject) => {
    // LC_ALL=C: --stats numbers are grouped by locale, and we parse them.
    const child = spawn('rsync', args, {
      env: { ...process.env, LC_ALL: 'C' },
      stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
    });
    const stdout = new TailBuffer(4 * 1024 * 1024);
    const stderr = new TailBuffer(256 * 1024);
    child.stdout?.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr?.on('data', (chunk: Buffer) => stderr.push(chunk));
    const bridged = serve(child.stdio[BRIDGE_FD] as Duplex);
    running.add(child);
    child.on('error', (error) => {
      running.delete(child);
      bridged.stop();
      reject(new ProvisionError(`cannot start rsync: ${error.message}`));
    });
    // Normally the command ended before rsync (rsync waits for its remote shell, which waits for
    // the command); if rsync was killed, the command is stopped here. ('close' waits for the
    // bridge's socket, which stays open until the command is over.)
    child.on('exit', () => bridged.stop());
    child.on('close', (code, signal) => {
      running.delete(child);
      void bridged.done.then(() =>
        resolve({
          stdout: stdout.text(),
          stderr: `${stderr.text()}${bridged.stderr()}`,
          code: signal ? null : code,
        }),
      );
    });
  });
}
