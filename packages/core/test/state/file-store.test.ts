import { spawn } from 'node:child_process';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { StateCorruptError } from '../../src/errors.js';
import type { SandboxRecord } from '../../src/records/sandbox.js';
import { FileStateStore } from '../../src/state/file-store.js';
import { newSandboxId } from '../../src/util/ids.js';
import { sandboxRecord, tempDir } from '../support/fixtures.js';

const record = sandboxRecord;

describe('FileStateStore', () => {
  test('put, get and list round-trip; files are private to the user', async () => {
    const home = tempDir();
    const store = new FileStateStore(home);
    const a = record();
    await store.putSandbox(a);
    expect(await store.getSandbox(a.id)).toEqual(a);
    expect(await new FileStateStore(home).listSandboxes()).toEqual([a]);
    const { statSync } = await import('node:fs');
    expect(statSync(join(home, 'sandboxes', `${a.id}.json`)).mode & 0o777).toBe(0o600);
  });

  test('an id that is not a sandbox id is never turned into a path', async () => {
    const store = new FileStateStore(tempDir());
    expect(await store.getSandbox('../../etc/passwd')).toBeUndefined();
  });

  test('a corrupt file is named by get and skipped by list', async () => {
    const home = tempDir();
    const store = new FileStateStore(home);
    const good = record();
    await store.putSandbox(good);
    const bad = newSandboxId();
    writeFileSync(join(home, 'sandboxes', `${bad}.json`), '{"id": "trunc');
    await expect(store.getSandbox(bad)).rejects.toThrow(StateCorruptError);
    await expect(store.getSandbox(bad)).rejects.toThrow(
      `state file ${join(home, 'sandboxes', `${bad}.json`)}`,
    );
    expect((await store.listSandboxes()).map((r) => r.id)).toEqual([good.id]);
  });

  test('withLock serialises read-modify-write across concurrent callers', async () => {
    const store = new FileStateStore(tempDir());
    const base = record({ ttl_seconds: 1 });
    await store.putSandbox(base);
    await Promise.all(
      Array.from({ length: 10 }, () =>
        store.withLock('counter', async () => {
          const current = (await store.getSandbox(base.id)) as SandboxRecord;
          await new Promise((r) => setTimeout(r, 5));
          await store.putSandbox({ ...current, ttl_seconds: current.ttl_seconds + 1 });
        }),
      ),
    );
    expect((await store.getSandbox(base.id))?.ttl_seconds).toBe(11);
  });

  test('a writer killed with SIGKILL mid-write leaves a readable store', async () => {
    const home = tempDir();
    const store = new FileStateStore(home);
    const victim = record();
    await store.putSandbox(victim);
    // A child process rewrites the same record as fast as it can with a large payload; kill it mid-stream.
    // The child runs the built store (this package's test task depends on its build).
    const storeModule = new URL('../../dist/state/file-store.js', import.meta.url).pathname;
    const script = `
      const { FileStateStore } = await import(${JSON.stringify(storeModule)});
      const store = new FileStateStore(${JSON.stringify(home)});
      const base = ${JSON.stringify(victim)};
      process.stdout.write('ready\\n');
      for (let i = 0; ; i++) await store.putSandbox({ ...base, consumer: 'x'.repeat(200000) + i });
    `;
    for (let round = 0; round < 5; round++) {
      const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
      await new Promise((r) => setTimeout(r, 30 + round * 20));
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
      const read = await store.getSandbox(victim.id);
      expect(read?.id).toBe(victim.id);
      expect((await store.listSandboxes()).map((r) => r.id)).toEqual([victim.id]);
    }
    // Only stray temporary files may remain, and readers ignore them.
    expect(readdirSync(join(home, 'sandboxes')).filter((n) => n.endsWith('.json'))).toEqual([
      `${victim.id}.json`,
    ]);
  });
});
