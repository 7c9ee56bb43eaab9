// The control-plane benchmark (issue 17): creates per second through `sandboxer serve` on the file
// store (the baseline, measured in the same run), on PostgreSQL with one replica, and with two
// replicas sharing the load; and the latency of a create's hold — the ledger transaction — on each
// store, 20 at once. Needs Debian's PostgreSQL (tests/testbed/up.sh installs it; started here).
// Writes bench/results/control-plane.json.
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { percentile, runLoad } from './http-load.mjs';
import { formatJson } from './json-file.mjs';
import { startServe } from './serve.mjs';

const ROOT = join(import.meta.dirname, '..', '..');
const PAIRS = 200;
const CONCURRENCY = 20;
const HOLDS = 500;

function psql(sql) {
  return execFileSync(
    'runuser',
    ['-u', 'postgres', '--', 'psql', '-v', 'ON_ERROR_STOP=1', '-qAt', '-c', sql],
    {
      encoding: 'utf8',
    },
  );
}

/** Starts the cluster if it is down; a role and a database for this run only. */
async function benchDatabase() {
  const line = spawnSync('pg_lsclusters', ['--no-header'], { encoding: 'utf8' })
    .stdout?.trim()
    .split('\n')[0];
  if (!line) throw new Error('PostgreSQL is not installed: run `sudo bash tests/testbed/up.sh`');
  const [version, name, port, status] = line.split(/\s+/);
  if (status !== 'online')
    execFileSync('pg_ctlcluster', ['--skip-systemctl-redirect', version, name, 'start']);
  for (
    let i = 0;
    i < 100 && spawnSync('pg_isready', ['-q', '-h', '127.0.0.1', '-p', port]).status !== 0;
    i++
  ) {
    await sleep(100);
  }
  const password = randomBytes(12).toString('hex');
  const role = 'sandboxer_bench';
  const db = `sbx_bench_${process.pid}`;
  const exists = psql(`SELECT 1 FROM pg_roles WHERE rolname = '${role}'`).trim() === '1';
  psql(`${exists ? 'ALTER' : 'CREATE'} ROLE ${role} LOGIN PASSWORD '${password}'`);
  psql(`CREATE DATABASE ${db} OWNER ${role}`);
  return {
    url: `postgres://${role}:${password}@127.0.0.1:${port}/${db}`,
    drop: () => psql(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`),
  };
}

/** `PAIRS` create→destroy pairs through these replicas, the load split evenly between them. */
async function throughput(name, env, replicas) {
  const token = 'bench-token-0123456789abcdef';
  const servers = [];
  for (let i = 0; i < replicas; i++) {
    servers.push(
      await startServe(
        { ...env, SANDBOXER_HOME: mkdtempSync(join(tmpdir(), 'sbx-bench-cp-')), SANDBOXER_API_TOKENS: token },
        ['--repo-root', join(ROOT, 'tests', 'fixtures')],
      ),
    );
  }
  const body = { profile: 'saas-stub', inputs: { repo: 'sample-repo' }, consumer: 'bench', ttl: '10m' };
  try {
    // Warm-up (connections, JIT, the schema), not reported.
    await Promise.all(servers.map((s) => runLoad({ url: s.url, token, pairs: 10, concurrency: 4, body })));
    const started = performance.now();
    const runs = await Promise.all(
      servers.map((s) =>
        runLoad({ url: s.url, token, pairs: PAIRS / replicas, concurrency: CONCURRENCY / replicas, body }),
      ),
    );
    const seconds = (performance.now() - started) / 1000;
    return {
      name,
      replicas,
      pairs: PAIRS,
      errors: runs.reduce((n, r) => n + r.errors.length, 0),
      seconds,
      creates_per_second: PAIRS / seconds,
      create_p50_ms: runs.length === 1 ? runs[0].create.p50 : median(runs.map((r) => r.create.p50)),
      create_p99_ms: Math.max(...runs.map((r) => r.create.p99)),
    };
  } finally {
    for (const s of servers) await s.stop();
  }
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

/** The ledger transaction of a create (`hold`), `HOLDS` of them, `CONCURRENCY` at once, on a store. */
async function holdLatency(name, store) {
  const { CreditsLedger } = await import(join(ROOT, 'packages', 'core', 'dist', 'index.js'));
  const ledger = new CreditsLedger(store);
  const account = `bench-${randomUUID()}`;
  await ledger.grant(account, 1_000_000);
  const later = new Date(Date.now() + 3_600_000);
  await ledger.hold(account, 1, 'warmupwarmup', later, () => 'refused'); // connects, migrates
  const times = [];
  let next = 0;
  const worker = async () => {
    while (next < HOLDS) {
      next += 1;
      const t0 = performance.now();
      await ledger.hold(account, 1, 'aaaaaaaaaaaa', later, () => 'refused');
      times.push(performance.now() - t0);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  await store.close?.();
  const sorted = times.sort((a, b) => a - b);
  return {
    name,
    holds: HOLDS,
    concurrency: CONCURRENCY,
    p50_ms: percentile(sorted, 50),
    p99_ms: percentile(sorted, 99),
  };
}

export async function controlPlane({ results }) {
  const db = await benchDatabase();
  const base = { ...process.env, SANDBOXER_INITIAL_CREDITS: '1000000' };
  try {
    const file = await throughput('file store, 1 replica', base, 1);
    const pg1 = await throughput('PostgreSQL, 1 replica', { ...base, SANDBOXER_STATE: db.url }, 1);
    const pg2 = await throughput('PostgreSQL, 2 replicas', { ...base, SANDBOXER_STATE: db.url }, 2);
    const core = await import(join(ROOT, 'packages', 'core', 'dist', 'index.js'));
    const fileHome = mkdtempSync(join(tmpdir(), 'sbx-bench-ledger-'));
    const holds = [
      await holdLatency('file store', new core.FileStateStore(fileHome)),
      await holdLatency('PostgreSQL', new core.PostgresStateStore(db.url)),
    ];
    rmSync(fileHome, { recursive: true, force: true });
    const result = {
      throughput: [file, pg1, pg2],
      ratios: {
        pg1_over_file: pg1.creates_per_second / file.creates_per_second,
        pg2_over_file: pg2.creates_per_second / file.creates_per_second,
        pg2_over_pg1: pg2.creates_per_second / pg1.creates_per_second,
        hold_p50_pg_over_file: holds[1].p50_ms / holds[0].p50_ms,
        hold_p99_pg_over_file: holds[1].p99_ms / holds[0].p99_ms,
      },
      holds,
    };
    console.log(`Control plane: ${PAIRS} create/destroy pairs (saas-stub), ${CONCURRENCY} at a time`);
    for (const t of result.throughput) {
      console.log(
        `  ${t.name.padEnd(24)} ${t.creates_per_second.toFixed(1)} creates/s   create p50 ${t.create_p50_ms.toFixed(1)} ms   p99 ${t.create_p99_ms.toFixed(1)} ms   errors ${t.errors}`,
      );
    }
    console.log(
      `  ratios: PostgreSQL 1 replica ${result.ratios.pg1_over_file.toFixed(2)}× the file store, 2 replicas ${result.ratios.pg2_over_file.toFixed(2)}× (${result.ratios.pg2_over_pg1.toFixed(2)}× one replica)`,
    );
    for (const h of holds) {
      console.log(
        `  hold (ledger transaction), ${h.name.padEnd(11)} p50 ${h.p50_ms.toFixed(2)} ms   p99 ${h.p99_ms.toFixed(2)} ms`,
      );
    }
    writeFileSync(join(results, 'control-plane.json'), formatJson(result));
    return result.throughput.every((t) => t.errors === 0);
  } finally {
    db.drop();
  }
}
