import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { FileStateStore } from '../../src/state/file-store.js';
import { currentHolder, holderIsDead } from '../../src/state/lock-holder.js';
import { tempDir } from '../support/fixtures.js';

/** A process that has already exited, as a holder of this boot would record it. */
function deadHolder() {
  const child = spawnSync(
    process.execPath,
    ['-e', 'process.stdout.write(require("fs").readFileSync("/proc/self/stat","utf8"))'],
    {
      encoding: 'utf8',
    },
  );
  const stat = child.stdout;
  const pid = Number(stat.split(' ')[0]);
  const start = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] as string;
  const boot = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  return { pid, boot_id: boot, start };
}

describe.skipIf(currentHolder() === undefined)('lock holders', () => {
  test('a holder of this boot that is gone is dead; this process and another boot are not', () => {
    const dir = tempDir();
    const file = join(dir, 'x.holder');
    writeFileSync(file, JSON.stringify(deadHolder()));
    expect(holderIsDead(file)).toBe(true);
    writeFileSync(file, JSON.stringify(currentHolder()));
    expect(holderIsDead(file)).toBe(false);
    writeFileSync(file, JSON.stringify({ ...deadHolder(), boot_id: 'another-boot' }));
    expect(holderIsDead(file)).toBe(false);
    writeFileSync(file, 'not json');
    expect(holderIsDead(file)).toBe(false);
  });

  test('a lock left by a SIGKILLed process is taken at once, not after it goes stale (10 s)', async () => {
    const home = tempDir();
    const locks = join(home, 'locks');
    mkdirSync(join(locks, 'sandbox-abc123def456.lock'), { recursive: true });
    writeFileSync(join(locks, 'sandbox-abc123def456.holder'), JSON.stringify(deadHolder()));
    const store = new FileStateStore(home);
    const started = Date.now();
    expect(await store.withLock('sandbox-abc123def456', async () => 'taken', { waitMs: 1000 })).toBe('taken');
    expect(Date.now() - started).toBeLessThan(1000);
  });

  test('a lock whose holder lives is waited for, as before', async () => {
    const home = tempDir();
    const locks = join(home, 'locks');
    mkdirSync(join(locks, 'k.lock'), { recursive: true });
    writeFileSync(join(locks, 'k.holder'), JSON.stringify(currentHolder()));
    const store = new FileStateStore(home);
    await expect(store.withLock('k', async () => 'taken', { waitMs: 300 })).rejects.toThrow(
      /another sand-boxer process is working on k/,
    );
  });
});
