import { type ChildProcess, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ProvisionError } from '../errors.js';
import { knownHostsLine } from '../ssh/known-hosts.js';
import { TailBuffer } from '../ssh/tail-buffer.js';
import { loadRepoIgnore } from './ignore-rules.js';
import type { SyncRequest, TransferCounts } from './request.js';
import { parseRsyncStats, rsyncArgs, rsyncFilterRules } from './rsync-args.js';
import { makeScratchDir, removeScratchDir } from './scratch.js';

/** What rsync's exit codes mean (rsync(1), EXIT VALUES), for when its message is lost. */
const RSYNC_EXIT: Record<number, string> = {
  5: 'error starting the client-server protocol',
  10: 'error in socket I/O (the connection dropped?)',
  11: "error in file I/O (is the host's disk full?)",
  12: 'error in the rsync protocol data stream (the connection dropped?)',
  23: 'partial transfer due to an error',
  30: 'timeout in data send/receive',
  255: 'ssh failed',
};

/** rsync processes running now, so a cancelled caller can stop them before it exits. */
const running = new Set<ChildProcess>();

/** Stops every rsync this process started (a cancelled step is about to exit). */
export function stopRsyncs(): void {
  for (const child of running) child.kill('SIGTERM');
}

/**
 * rsync over SSH, with the host key this session verified, the filter rules and (for key text) the
 * key in a private scratch directory that lives exactly as long as one rsync run (see RSYNC_GUARD).
 * `rsyncPath` replaces the remote rsync (the cache's locked one).
 */
export async function viaRsync(request: SyncRequest, rsyncPath?: string): Promise<TransferCounts> {
  const { session } = request;
  for (let attempt = 1; ; attempt++) {
    const scratch = makeScratchDir();
    let result: RsyncResult;
    try {
      const files = scratchFiles(request, scratch);
      result = await runRsync(rsyncArgsFor(request, files, rsyncPath), scratch, () =>
        fillScratch(request, files),
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
    // sshd drops connections beyond its MaxStartups before the key exchange (many creates on one
    // host at once): nothing was sent yet, so trying again is safe.
    if (attempt < RSYNC_ATTEMPTS && droppedBeforeHandshake(result.stderr)) {
      await sleep(150 * attempt + Math.random() * 250);
      continue;
    }
    const tail = result.stderr.trim().split('\n').slice(-10).join('\n');
    // rsync's own text does not always reach us (a dead connection): its exit code still says what broke.
    const code = result.code ?? 'signal';
    const meaning = RSYNC_EXIT[Number(code)];
    throw new ProvisionError(
      `rsync to ${session.destination} failed (exit ${code}${meaning ? `: ${meaning}` : ''})${tail ? `: ${tail}` : ''}`,
    );
  }
}

/** Where one run's files go in its scratch directory (an identity file stays where it is). */
interface ScratchFiles {
  /** Absent when an ssh-agent logs in (agentSocket). */
  keyFile?: string;
  agentSocket?: string;
  /** Set when the key is text that must be written (else keyFile is the user's identity file). */
  keyText?: string;
  knownHostsFile: string;
  filterFile: string;
}

function scratchFiles(request: SyncRequest, scratch: string): ScratchFiles {
  const { key } = request;
  return {
    ...('file' in key
      ? { keyFile: key.file }
      : 'agent' in key
        ? { agentSocket: key.agent }
        : { keyFile: join(scratch, 'key'), keyText: key.text }),
    knownHostsFile: join(scratch, 'known_hosts'),
    filterFile: join(scratch, 'filter'),
  };
}

/** Writes the key copy (if any), the host key the session verified, and the filter rules. */
function fillScratch(request: SyncRequest, files: ScratchFiles): void {
  const { target, session } = request;
  if (files.keyText !== undefined && files.keyFile !== undefined) {
    const text = files.keyText.endsWith('\n') ? files.keyText : `${files.keyText}\n`;
    writeFileSync(files.keyFile, text, { mode: 0o600 });
  }
  // Exactly the keys the main connection verified: the host's, and the ProxyJump host's if any.
  const lines = [knownHostsLine(target.address, target.port, session.hostKey)];
  if (target.jump && session.jump) {
    lines.push(knownHostsLine(target.jump.address, target.jump.port, session.jump.hostKey));
  }
  writeFileSync(files.knownHostsFile, `${lines.join('\n')}\n`, { mode: 0o600 });
  // Protected files are neither deleted nor overwritten: a repo file of the same name is left out.
  const protect = (request.protect ?? []).flatMap((name) => [`P /${name}`, `- /${name}`]);
  const rules = [...protect, ...rsyncFilterRules(loadRepoIgnore(request.localDir).patterns)];
  writeFileSync(files.filterFile, `${rules.join('\n')}\n`);
}

function rsyncArgsFor(request: SyncRequest, files: ScratchFiles, rsyncPath: string | undefined): string[] {
  const { target } = request;
  return rsyncArgs({
    localDir: request.localDir,
    remoteDir: request.remoteDir,
    user: target.user,
    address: target.address,
    port: target.port,
    ...(files.keyFile !== undefined ? { keyFile: files.keyFile } : {}),
    ...(files.agentSocket !== undefined ? { agentSocket: files.agentSocket } : {}),
    knownHostsFile: files.knownHostsFile,
    filterFile: files.filterFile,
    connectTimeoutSeconds: 10,
    ...(request.deleteExcluded ? { deleteExcluded: true } : {}),
    ...(target.jump
      ? { jump: { user: target.jump.user, address: target.jump.address, port: target.jump.port } }
      : {}),
    ...(rsyncPath ? { rsyncPath } : {}),
  });
}

/** How many times rsync is started when its connection is dropped before the key exchange. */
const RSYNC_ATTEMPTS = 3;

/** rsync's ssh was closed by the host before the key exchange: nothing ran, nothing was sent. */
export function droppedBeforeHandshake(stderr: string): boolean {
  return (
    /kex_exchange_identification: (Connection closed by remote host|read: Connection reset by peer)/.test(
      stderr,
    ) && /\(0 bytes received so far\)/.test(stderr)
  );
}

/**
 * rsync under a guard that outlives nothing: the guard (a `sh`) holds rsync and its ssh in their own
 * process group and watches a pipe whose other end only this process holds. When this process dies
 * — even by SIGKILL, which no `finally` sees — the pipe reads EOF and the guard kills rsync and its
 * ssh and deletes the scratch directory (the key copy with it). A SIGTERM to the guard (cancel) does
 * the same. The guard is started before the scratch directory is filled and waits for a `go` line
 * on stdin, so the key is never on disk without a guard watching it. Without `setsid` (not Linux)
 * the group is rsync's own, still killed with rsync.
 */
export const RSYNC_GUARD = [
  'scratch=$1; shift',
  'child=',
  'stop() { [ -z "$child" ] || kill -TERM "-$child" 2>/dev/null || kill -TERM "$child" 2>/dev/null; rm -rf -- "$scratch"; }',
  "trap 'stop; exit 143' TERM INT HUP",
  // The watcher: EOF on fd 3 means the process that started this guard is gone.
  `sh -c 'cat >/dev/null; kill -TERM "$0" 2>/dev/null' "$$" <&3 >/dev/null 2>&1 &`,
  'watch=$!',
  // The scratch directory is ready (or its writer died: EOF on stdin).
  'read -r go || { kill "$watch" 2>/dev/null; rm -rf -- "$scratch"; exit 125; }',
  'if command -v setsid >/dev/null 2>&1; then setsid "$@" </dev/null & else "$@" </dev/null & fi',
  'child=$!',
  'wait "$child"; status=$?',
  'kill "$watch" 2>/dev/null',
  'rm -rf -- "$scratch"',
  'exit "$status"',
].join('\n');

/** What a finished rsync left: its output and, when it failed, its exit code. */
interface RsyncResult {
  stdout: string;
  stderr: string;
  code: number | null;
}

/** Starts the guard, then fills the scratch directory (`prepare` returns rsync's argv), then lets it go. */
/**
 * Starts rsync under its guard, then fills the scratch directory (`fill`), then lets the guard start
 * rsync: the key copy only exists while a guard watches it.
 */
function runRsync(args: string[], scratch: string, fill: () => void): Promise<RsyncResult> {
  return new Promise((resolve, reject) => {
    // LC_ALL=C: --stats numbers are grouped by locale, and we parse them.
    const child = spawn('sh', ['-c', RSYNC_GUARD, 'sandboxer-rsync', scratch, 'rsync', ...args], {
      env: { ...process.env, LC_ALL: 'C' },
      stdio: ['pipe', 'pipe', 'pipe', 'pipe'],
    });
    const stdout = new TailBuffer(4 * 1024 * 1024);
    const stderr = new TailBuffer(256 * 1024);
    child.stdout?.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr?.on('data', (chunk: Buffer) => stderr.push(chunk));
    running.add(child);
    let failure: unknown;
    // The guard is done: let go of the watcher's pipe (its `cat` then ends), so 'close' can come.
    child.on('exit', () => child.stdio[3]?.destroy());
    child.on('close', (code, signal) => {
      running.delete(child);
      if (failure !== undefined) reject(failure);
      else resolve({ stdout: stdout.text(), stderr: stderr.text(), code: signal ? null : code });
    });
    try {
      fill();
      child.stdin?.end('go\n');
    } catch (error) {
      failure = error;
      child.stdin?.end(); // EOF before `go`: the guard deletes the scratch and exits
    }
  });
}
