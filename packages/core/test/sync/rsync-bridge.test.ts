import { spawn } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import type { Duplex } from 'node:stream';
import { afterEach, describe, expect, test } from 'vitest';
import type { RemoteStream, SshSession } from '../../src/ssh/session.js';
import { bridgeRemoteShell, serveBridge } from '../../src/sync/rsync-bridge.js';
import { tempDir } from '../support/fixtures.js';

/**
 * The bridge rsync runs as its remote shell, with the real bridge program started as rsync starts
 * it (`<rsh> host command…`, descriptor 3 inherited) and a session whose streams run in a local
 * /bin/sh.
 */

interface Started {
  command: string;
  stopped: boolean;
}

function localSession(started: Started[]): SshSession {
  const stream = async (cmd: string): Promise<RemoteStream> => {
    const record = { command: cmd, stopped: false };
    started.push(record);
    // Its own process group, so stopping it stops what it started (as sshd's hangup does).
    const child = spawn('/bin/sh', ['-c', cmd], { detached: true });
    const done = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    const stop = () => {
      record.stopped = true;
      if (child.pid && child.exitCode === null) process.kill(-child.pid, 'SIGTERM');
    };
    return { input: child.stdin, output: child.stdout, errors: child.stderr, done, stop };
  };
  return { destination: 'sbx@host:22', stream } as unknown as SshSession;
}

/**
 * Runs the bridge as rsync would (descriptor 3 inherited), served on `session`; resolves with its
 * stdout and exit code once both it and the bridged command are over.
 */
async function runBridge(
  session: SshSession,
  expect: string,
  words: string[],
  stdin: string,
  onStart?: (pid: number) => void,
): Promise<{ stdout: string; code: number | null; stderr: string }> {
  const scratch = tempDir('sandboxer-sync-test-');
  dirs.push(scratch);
  const [node, program] = bridgeRemoteShell(scratch) as [string, string];
  const child = spawn(node, [program, ...words], { stdio: ['pipe', 'pipe', 'pipe', 'pipe'] });
  const bridged = serveBridge(child.stdio[3] as Duplex, session, scratch, expect);
  if (child.pid) onStart?.(child.pid);
  let stdout = '';
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stdin.end(stdin);
  // As runRsync does: a bridge that exits before its command ended was killed; its command stops.
  child.on('exit', () => bridged.stop());
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  await bridged.done;
  return { stdout, code, stderr: bridged.stderr() };
}

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('the rsync bridge', () => {
  test("pipes stdin and stdout both ways and exits with the remote command's status", async () => {
    const started: Started[] = [];
    // As rsync starts it: `-l user host command words…`, the words joined by spaces (as ssh does).
    const words = ['-l', 'sbx', 'sandboxer-session', 'head', '-c', '6', ';', 'exit', '3'];
    const result = await runBridge(localSession(started), 'head -c 6 ', words, 'hello\nworld\n');
    expect(started.map((s) => s.command)).toEqual(['head -c 6 ; exit 3']);
    expect(result.stdout).toBe('hello\n');
    expect(result.code).toBe(3);
  });

  test('the remote stderr is kept for the caller, not passed through', async () => {
    const words = [
      'sandboxer-session',
      'rsync',
      '--server',
      '2>/dev/null;',
      'echo',
      'sandboxer-fill:',
      'copy',
      '>&2',
    ];
    const result = await runBridge(localSession([]), 'rsync --server ', words, '');
    expect(result.code).toBe(0);
    expect(result.stderr).toBe('sandboxer-fill: copy\n');
  });

  test('refuses a command that is not the expected rsync, and runs nothing', async () => {
    const started: Started[] = [];
    const words = ['sandboxer-session', 'touch', '/tmp/pwned;', 'rsync', '--server'];
    const result = await runBridge(localSession(started), 'rsync --server ', words, '');
    expect(started).toEqual([]);
    expect(result.code).toBe(255);
    expect(result.stderr).toContain('refused a command that is not the expected rsync');
  });

  test('a bridge killed mid-run (a cancelled rsync): the remote command is stopped', async () => {
    const started: Started[] = [];
    let pid = 0;
    const running = runBridge(
      localSession(started),
      'sleep ',
      ['sandboxer-session', 'sleep', '30'],
      '',
      (p) => {
        pid = p;
      },
    );
    for (let i = 0; i < 100 && started.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
    process.kill(pid, 'SIGKILL');
    await running;
    expect(started).toMatchObject([{ command: 'sleep 30', stopped: true }]);
  });

  test('an rsync that closes inherited descriptors: the bridge says so and how to sync instead', async () => {
    const scratch = tempDir('sandboxer-sync-test-');
    dirs.push(scratch);
    const [node, program] = bridgeRemoteShell(scratch) as [string, string];
    const child = spawn(node, [program, 'sandboxer-session', 'rsync', '--server'], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.stdin.end();
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(code).toBe(255);
    expect(stderr).toContain(
      'this rsync closes inherited descriptors; use GNU rsync 3.x here, or the input sync_method=tar',
    );
  });

  test('this process gone (no status left): the bridge removes its scratch directory and exits', async () => {
    const scratch = tempDir('sandboxer-sync-test-');
    dirs.push(scratch);
    const [node, program] = bridgeRemoteShell(scratch) as [string, string];
    const child = spawn(node, [program, 'sandboxer-session', 'rsync', '--server'], {
      stdio: ['pipe', 'pipe', 'pipe', 'pipe'],
    });
    // Its end of the socket pair closes as a killed parent's would.
    (child.stdio[3] as Duplex).destroy();
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(code).toBe(255);
    expect(existsSync(scratch)).toBe(false);
  });
});
