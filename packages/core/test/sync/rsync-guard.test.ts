import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, test } from 'vitest';
import { RSYNC_GUARD } from '../../src/sync/rsync.js';
import { tempDir } from '../support/fixtures.js';

/**
 * The guard rsync runs under: when the process that started it dies — SIGKILL, where no `finally`
 * runs — rsync (here a stand-in that sleeps) and its children are killed and the scratch directory
 * with the key copy is deleted.
 */

const alive = (pid: number) => spawnSync('kill', ['-0', String(pid)]).status === 0;

async function until(check: () => boolean, ms = 5000): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end; await sleep(50)) if (check()) return true;
  return check();
}

/** A stand-in for this process: starts the guard like runRsync does, prints the stand-in's pid. */
function startParent(scratch: string, marker: string) {
  const script = `
    const { spawn } = require('node:child_process');
    const child = spawn('sh', ['-c', ${JSON.stringify(RSYNC_GUARD)}, 'guard', ${JSON.stringify(scratch)},
      'sh', '-c', 'echo $$ > ${marker}; sleep 60 & wait'], { stdio: ['pipe', 'pipe', 'pipe', 'pipe'] });
    child.stdin.end('go\\n');
    child.stdout.resume();
    process.stdout.write('started\\n');
    setInterval(() => {}, 1000);
  `;
  return spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
}

describe('RSYNC_GUARD', () => {
  test('a parent that dies before it says go: nothing runs and the scratch directory is deleted', async () => {
    const dir = tempDir('sbx-guard-');
    const scratch = join(dir, 'sandboxer-sync-1-y');
    mkdirSync(scratch);
    const marker = join(dir, 'ran');
    const child = spawn('sh', ['-c', RSYNC_GUARD, 'guard', scratch, 'sh', '-c', `: > ${marker}`], {
      stdio: ['pipe', 'ignore', 'ignore', 'pipe'],
    });
    writeFileSync(join(scratch, 'key'), 'a private key\n', { mode: 0o600 });
    child.stdin?.end(); // the writer died: EOF, no `go`
    child.on('exit', () => child.stdio[3]?.destroy());
    const status = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(status).toBe(125);
    expect(existsSync(scratch)).toBe(false);
    expect(existsSync(marker)).toBe(false);
  });

  test('SIGKILL of the parent kills the command and its children and deletes the scratch directory', async () => {
    const dir = tempDir('sbx-guard-');
    const scratch = join(dir, 'sandboxer-sync-1-x');
    mkdirSync(scratch);
    writeFileSync(join(scratch, 'key'), 'a private key\n', { mode: 0o600 });
    const marker = join(dir, 'pid');
    const parent = startParent(scratch, marker);
    await new Promise<void>((resolve) => parent.stdout?.once('data', () => resolve()));
    expect(await until(() => existsSync(marker))).toBe(true);
    const commandPid = Number(spawnSync('cat', [marker], { encoding: 'utf8' }).stdout.trim());
    expect(alive(commandPid)).toBe(true);
    parent.kill('SIGKILL');
    expect(await until(() => !existsSync(scratch))).toBe(true);
    expect(await until(() => !alive(commandPid))).toBe(true);
    // The command's own child (rsync's ssh; here a sleep) goes with it: nothing of its group is left.
    const group = () => spawnSync('pgrep', ['-g', String(commandPid)], { encoding: 'utf8' }).stdout.trim();
    expect(await until(() => group() === '')).toBe(true);
  });

  test('a normal end exits with the command status and deletes the scratch directory', async () => {
    const scratch = tempDir('sbx-guard-');
    const child = spawn('sh', ['-c', RSYNC_GUARD, 'guard', scratch, 'sh', '-c', 'echo out; exit 7'], {
      stdio: ['pipe', 'pipe', 'pipe', 'pipe'],
    });
    child.stdin?.end('go\n');
    let out = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
    });
    // As runRsync does: once the guard is done, its watcher's pipe is let go.
    child.on('exit', () => child.stdio[3]?.destroy());
    const status = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(status).toBe(7);
    expect(out).toBe('out\n');
    expect(existsSync(scratch)).toBe(false);
  });
});
