import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, test } from 'vitest';
import { KEEPER_MARK, keeperAlive, spawnKeeper, stopKeeper } from '../../src/reach/keeper-process.js';
import { tempDir } from '../support/fixtures.js';

const started: number[] = [];
afterEach(() => {
  for (const pid of started.splice(0)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
});

/** A stand-in keeper: prints some noise, announces, then stays until SIGTERM. */
function keeperScript(dir: string, body: string): string {
  const file = join(dir, 'keeper.cjs');
  writeFileSync(file, body);
  return file;
}

const ANNOUNCING = `
let input = '';
process.stdin.on('data', (c) => (input += c));
process.stdin.on('end', () => {
  process.stdout.write('::add-mask::noise before the announcement\\n');
  process.stdout.write('sandboxer-keeper ' + JSON.stringify({ pid: process.pid, urls: { web: 'http://127.0.0.1:1', got: input } }) + '\\n');
  setInterval(() => {}, 1000);
});
`;

describe('spawnKeeper and stopKeeper', () => {
  test('the announcement is found among other output; stdin carries the settings; the pid is known at once', async () => {
    const dir = tempDir();
    let early: number | undefined;
    const announced = await spawnKeeper([keeperScript(dir, ANNOUNCING), KEEPER_MARK, 'abc123def456'], {
      logFile: join(dir, 'keeper.log'),
      input: 'the settings',
      onSpawn: (pid) => {
        early = pid;
      },
    });
    started.push(announced.pid);
    expect(early).toBe(announced.pid);
    expect(announced.urls).toEqual({ web: 'http://127.0.0.1:1', got: 'the settings' });
    const keeper = { pid: announced.pid, machine: hostname(), started_at: '', forwards: {} };
    expect(keeperAlive(keeper, 'abc123def456')).toBe(true);
    // Another sandbox's id, or another machine, is not this keeper: never signalled.
    expect(keeperAlive(keeper, 'zzz999zzz999')).toBe(false);
    expect(await stopKeeper({ ...keeper, machine: 'elsewhere' }, 'abc123def456')).toBe(false);
    expect(await stopKeeper(keeper, 'abc123def456')).toBe(true);
    for (let i = 0; i < 50 && keeperAlive(keeper, 'abc123def456'); i++) await sleep(20);
    expect(keeperAlive(keeper, 'abc123def456')).toBe(false);
  });

  test('a keeper that dies first is an error that quotes its log', async () => {
    const dir = tempDir();
    const script = keeperScript(
      dir,
      "process.stderr.write('cannot forward: no SSH key\\n'); process.exit(3);",
    );
    await expect(
      spawnKeeper([script, KEEPER_MARK, 'abc123def456'], { logFile: join(dir, 'keeper.log') }),
    ).rejects.toThrow(/stopped at once \(exit 3\): cannot forward: no SSH key \(log: .*keeper\.log\)/);
  });

  test('a process without the mark is never taken for a keeper (a reused pid)', async () => {
    const child = spawn('sleep', ['30']);
    started.push(child.pid as number);
    const keeper = { pid: child.pid as number, machine: hostname(), started_at: '', forwards: {} };
    expect(keeperAlive(keeper, 'abc123def456')).toBe(false);
    expect(await stopKeeper(keeper, 'abc123def456')).toBe(false);
    expect(child.exitCode).toBeNull();
  });
});
