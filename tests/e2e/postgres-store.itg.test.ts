import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { PostgresStateStore, StateConflictError } from '@sand-boxer/core';
import { describeStateStoreConformance } from '@sand-boxer/core/conformance';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { type TestDatabase, testDatabase } from './support/postgres.js';

/**
 * The PostgreSQL state store against Debian's PostgreSQL: the same conformance suite the file store
 * passes, then what only a database can show — locks released when their holder's process dies,
 * and the schema's migrations.
 */

let db: TestDatabase;
beforeAll(async () => {
  db = await testDatabase('sbx_store');
});
afterAll(() => db?.drop());

describeStateStoreConformance('PostgresStateStore', {
  open: () => new PostgresStateStore(db.url),
  openAnother: () => new PostgresStateStore(db.url),
});

describe('PostgresStateStore, beyond the interface', () => {
  test('a lock held by a process that is SIGKILLed is free again at once', async () => {
    const key = `sandbox-killtest${process.pid}`;
    const holder = spawn(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `import { PostgresStateStore } from '@sand-boxer/core';
         const store = new PostgresStateStore(process.env.URL);
         await store.withLock(process.env.KEY, async () => { process.stdout.write('held\\n'); await new Promise(() => {}); });`,
      ],
      {
        env: { ...process.env, URL: db.url, KEY: key },
        cwd: join(import.meta.dirname, '..', '..', 'packages', 'core'),
      },
    );
    await new Promise<void>((resolve, reject) => {
      holder.stdout.on('data', (chunk) => String(chunk).includes('held') && resolve());
      holder.once('exit', (code) => reject(new Error(`the holder exited (${code})`)));
    });
    const store = new PostgresStateStore(db.url);
    try {
      await expect(store.withLock(key, async () => 'no', { waitMs: 300 })).rejects.toThrow(
        StateConflictError,
      );
      holder.kill('SIGKILL');
      await sleep(200);
      expect(await store.withLock(key, async () => 'taken over', { waitMs: 5000 })).toBe('taken over');
    } finally {
      holder.kill('SIGKILL');
      await store.close();
    }
  });

  test('migrations: applied once, recorded; a database ahead of this code is refused untouched', async () => {
    const fresh = await testDatabase('sbx_migrate');
    try {
      const store = new PostgresStateStore(fresh.url);
      expect((await store.migrate()).map((m) => m.version)).toEqual([1, 2]);
      await store.close();
      const again = new PostgresStateStore(fresh.url);
      expect(await again.migrate()).toEqual([]);
      await again.close();
      const pg = (await import('pg')).default;
      const client = new pg.Client({ connectionString: fresh.url });
      await client.connect();
      await client.query("INSERT INTO sandboxer_migrations (version, name) VALUES (99, 'from the future')");
      await client.end();
      const older = new PostgresStateStore(fresh.url);
      await expect(older.listSandboxes()).rejects.toThrow(
        /schema is at version 99, newer than this sand-boxer knows \(2\)/,
      );
      await older.close();
    } finally {
      fresh.drop();
    }
  });

  test('a database that is not there is STATE_UNAVAILABLE, and the message has no password', async () => {
    const url = db.url.replace(/:(\d+)\//, ':1/');
    const store = new PostgresStateStore(url);
    const error = await store.listSandboxes().catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'STATE_UNAVAILABLE' });
    expect(String((error as Error).message)).not.toContain(new URL(db.url).password);
    expect(store.location).toBe(url.replace(/:[^:@/]+@/, '@'));
  });
});
