import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { recordSecrets } from './artifacts.js';
import { loadTestbed } from './testbed.js';

/**
 * Debian's PostgreSQL for the e2e suite: the cluster is started here if it is down
 * (`pg_ctlcluster --skip-systemctl-redirect <ver> main start`, as no init system runs), a login role
 * with a password is made once (kept 0600 in the testbed's state dir), and each test file gets a
 * database of its own, dropped afterwards.
 */

const ROLE = 'sandboxer_test';

export interface TestDatabase {
  name: string;
  /** postgres://sandboxer_test:<password>@127.0.0.1:<port>/<name> */
  url: string;
  drop: () => void;
}

export interface PostgresCluster {
  version: string;
  port: number;
  /** `pg_ctlcluster … restart` (a test of a database going away under load). */
  stop: () => void;
  start: () => Promise<void>;
}

function asPostgres(sql: string, database = 'postgres'): string {
  return execFileSync(
    'runuser',
    ['-u', 'postgres', '--', 'psql', '-v', 'ON_ERROR_STOP=1', '-qAt', '-d', database, '-c', sql],
    {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
}

/** The cluster `pg_lsclusters` lists first (Debian makes `<ver> main` when the package is installed). */
function cluster(): { version: string; name: string; port: number; status: string } {
  const result = spawnSync('pg_lsclusters', ['--no-header'], { encoding: 'utf8' });
  const line = result.stdout?.split('\n').find((l) => l.trim());
  if (result.status !== 0 || !line) {
    throw new Error(
      "PostgreSQL is not installed: run `sudo bash tests/testbed/up.sh` (it installs Debian's postgresql)",
    );
  }
  const [version, name, port, status] = line.trim().split(/\s+/) as [string, string, string, string];
  return { version, name, port: Number(port), status };
}

async function ready(port: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (spawnSync('pg_isready', ['-q', '-h', '127.0.0.1', '-p', String(port)]).status === 0) return;
    await sleep(100);
  }
  throw new Error(`PostgreSQL did not come up on 127.0.0.1:${port}`);
}

/** Starts the cluster if it is down; idempotent. */
export async function startPostgres(): Promise<PostgresCluster> {
  const found = cluster();
  const ctl = (action: string) =>
    execFileSync('pg_ctlcluster', ['--skip-systemctl-redirect', found.version, found.name, action], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  if (found.status !== 'online') ctl('start');
  await ready(found.port);
  return {
    version: found.version,
    port: found.port,
    stop: () => {
      ctl('stop');
    },
    start: async () => {
      ctl('start');
      await ready(found.port);
    },
  };
}

/** The test role's password, made once per testbed (never printed; registered with the secret scan). */
function rolePassword(): string {
  const file = join(loadTestbed().dir, 'postgres-test-password');
  if (!existsSync(file)) {
    writeFileSync(file, randomBytes(18).toString('base64url'), { mode: 0o600 });
  }
  const password = readFileSync(file, 'utf8').trim();
  const exists = asPostgres(`SELECT 1 FROM pg_roles WHERE rolname = '${ROLE}'`).trim() === '1';
  asPostgres(`${exists ? 'ALTER' : 'CREATE'} ROLE ${ROLE} LOGIN PASSWORD '${password}'`);
  recordSecrets([password]);
  return password;
}

/** A fresh database for one test file, owned by the test role. */
export async function testDatabase(prefix: string): Promise<TestDatabase> {
  const { port } = await startPostgres();
  const password = rolePassword();
  const name = `${prefix}_${process.pid}_${randomBytes(3).toString('hex')}`
    .toLowerCase()
    .replace(/[^a-z0-9_]/g, '_');
  asPostgres(`CREATE DATABASE ${name} OWNER ${ROLE}`);
  return {
    name,
    url: `postgres://${ROLE}:${encodeURIComponent(password)}@127.0.0.1:${port}/${name}`,
    drop: () => {
      try {
        asPostgres(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } catch {
        // The cluster is down (a test stopped it): the next run's databases have other names.
      }
    },
  };
}
