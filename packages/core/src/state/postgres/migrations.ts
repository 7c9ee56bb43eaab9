import type { PoolClient } from 'pg';
import { StateCorruptError } from '../../errors.js';

/**
 * The database schema, as numbered migrations applied in order and recorded in
 * `sandboxer_migrations`. A migration is only ever added, never edited; none drops or rewrites data
 * without a copy. A database migrated by a newer sand-boxer is refused rather than guessed at.
 */

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const MIGRATIONS: Migration[] = [
  {
    version: 1,
    name: 'records and ledger',
    sql: `
      CREATE TABLE sandboxer_sandboxes (
        id text PRIMARY KEY,
        state text NOT NULL,
        account text,
        created_at timestamptz NOT NULL,
        updated_at timestamptz NOT NULL,
        record jsonb NOT NULL
      );
      CREATE INDEX sandboxer_sandboxes_live ON sandboxer_sandboxes (state)
        WHERE state IN ('provisioning', 'ready', 'destroying');
      CREATE TABLE sandboxer_snapshots (
        id text PRIMARY KEY,
        created_at timestamptz NOT NULL,
        record jsonb NOT NULL
      );
      CREATE TABLE sandboxer_ledger (
        seq bigserial PRIMARY KEY,
        id text NOT NULL UNIQUE,
        account text NOT NULL,
        kind text NOT NULL,
        at timestamptz NOT NULL,
        sandbox text,
        hold text,
        entry jsonb NOT NULL
      );
      CREATE INDEX sandboxer_ledger_account ON sandboxer_ledger (account, seq);
    `,
  },
  {
    version: 2,
    name: 'host statuses',
    sql: `
      CREATE TABLE sandboxer_hosts (
        host text PRIMARY KEY,
        updated_at timestamptz NOT NULL,
        status jsonb NOT NULL
      );
    `,
  },
];

/** The lock every migrating process takes first, so replicas starting together migrate once. */
const MIGRATION_LOCK = "hashtextextended('sandboxer:migrations', 0)";

/**
 * Brings the schema up to date in one transaction; returns the migrations it applied. Refuses a
 * database that is ahead of this code (a newer sand-boxer migrated it): nothing is changed then.
 */
export async function migrate(client: PoolClient, location: string): Promise<Migration[]> {
  await client.query('BEGIN');
  try {
    await client.query(`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK})`);
    await client.query(`CREATE TABLE IF NOT EXISTS sandboxer_migrations (
      version integer PRIMARY KEY,
      name text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now()
    )`);
    const { rows } = await client.query<{ version: number }>('SELECT version FROM sandboxer_migrations');
    const applied = new Set(rows.map((r) => r.version));
    const newest = Math.max(0, ...applied);
    const known = Math.max(...MIGRATIONS.map((m) => m.version));
    if (newest > known) {
      throw new StateCorruptError(
        `${location}: the database schema is at version ${newest}, newer than this sand-boxer knows (${known}); upgrade sand-boxer rather than use it with an older one`,
        { schema_version: newest, known_version: known },
      );
    }
    const pending = MIGRATIONS.filter((m) => !applied.has(m.version));
    for (const migration of pending) {
      await client.query(migration.sql);
      await client.query('INSERT INTO sandboxer_migrations (version, name) VALUES ($1, $2)', [
        migration.version,
        migration.name,
      ]);
    }
    await client.query('COMMIT');
    return pending;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  }
}
