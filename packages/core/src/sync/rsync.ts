import { type ChildProcess, type ExecFileException, execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ProvisionError } from '../errors.js';
import { knownHostsLine } from '../ssh/known-hosts.js';
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
 * rsync over SSH, with the key, the host key this session verified and the filter rules in a private
 * scratch directory removed afterwards. `rsyncPath` replaces the remote rsync (the cache's locked one).
 */
export async function viaRsync(request: SyncRequest, rsyncPath?: string): Promise<TransferCounts> {
  const { target, session } = request;
  const scratch = makeScratchDir();
  try {
    const keyFile = join(scratch, 'key');
    writeFileSync(
      keyFile,
      request.privateKey.endsWith('\n') ? request.privateKey : `${request.privateKey}\n`,
      { mode: 0o600 },
    );
    const knownHostsFile = join(scratch, 'known_hosts');
    writeFileSync(knownHostsFile, `${knownHostsLine(target.address, target.port, session.hostKey)}\n`, {
      mode: 0o600,
    });
    const filterFile = join(scratch, 'filter');
    // Protected files are neither deleted nor overwritten: a repo file of the same name is left out.
    const protect = (request.protect ?? []).flatMap((name) => [`P /${name}`, `- /${name}`]);
    const rules = [...protect, ...rsyncFilterRules(loadRepoIgnore(request.localDir).patterns)];
    writeFileSync(filterFile, `${rules.join('\n')}\n`);
    const args = rsyncArgs({
      localDir: request.localDir,
      remoteDir: request.remoteDir,
      user: target.user,
      address: target.address,
      port: target.port,
      keyFile,
      knownHostsFile,
      filterFile,
      connectTimeoutSeconds: 10,
      ...(rsyncPath ? { rsyncPath } : {}),
    });
    let output: string;
    for (let attempt = 1; ; attempt++) {
      const result = await runRsync(args);
      if (!result.error) {
        output = result.stdout;
        break;
      }
      // sshd drops connections beyond its MaxStartups before the key exchange (many creates on one
      // host at once): nothing was sent yet, so trying again is safe.
      if (attempt < RSYNC_ATTEMPTS && droppedBeforeHandshake(result.stderr)) {
        await sleep(150 * attempt + Math.random() * 250);
        continue;
      }
      const tail = result.stderr.trim().split('\n').slice(-10).join('\n');
      // rsync's own text does not always reach us (a dead connection): its exit code still says what broke.
      const code = result.error.code;
      const meaning = RSYNC_EXIT[Number(code)];
      throw new ProvisionError(
        `rsync to ${session.destination} failed (exit ${code}${meaning ? `: ${meaning}` : ''})${tail ? `: ${tail}` : ''}`,
      );
    }
    return parseRsyncStats(output);
  } finally {
    removeScratchDir(scratch);
  }
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

function runRsync(args: string[]): Promise<{ stdout: string; stderr: string; error?: ExecFileException }> {
  return new Promise((resolve) => {
    // LC_ALL=C: --stats numbers are grouped by locale, and we parse them.
    const options = { maxBuffer: 4 * 1024 * 1024, env: { ...process.env, LC_ALL: 'C' } };
    const child = execFile('rsync', args, options, (error, stdout, stderr) => {
      running.delete(child);
      resolve({ stdout, stderr, ...(error ? { error } : {}) });
    });
    running.add(child);
  });
}
