#!/usr/bin/env node
// `pnpm bench`: benchmarks that report ratios and percentiles measured in this run (never timed
// unit tests). Results go to bench/results/<name>.json. Benchmarks:
//   http-load            the HTTP API under a bounded load on the embedded backend (issue 7)
//   compose-vs-baseline  ext.compose-ssh against a hand-rolled `make e2e` on the real testbed (issue 9)
//   forwarder            the keeper of `forward --detach`: memory and latency against OpenSSH's -L (issue 16)
//   control-plane        creates/s through serve on PostgreSQL (1 and 2 replicas) vs the file store (issue 17)
//   placement            routing to a pool of 50 hosts with 2,000 records vs to one named host (issue 18)
//   leases               a keeper's CPU/memory per hour vs an idle node; 20 vanished runners timed (issue 20)
//   grace                teardown of a stack with a service that ignores SIGTERM: 2 s grace vs 10 s vs the script (issue 22)
//   wan                  compose-vs-baseline's small cold and large warm through a delay proxy, by RTT (issue 22)
//   snapshots            snapshot and restore of a compose stack with 1 GiB of volume data (issue 22)
// Knobs: BENCH_ONLY=<name> runs one benchmark; BENCH_RUNS (default 3) and BENCH_PARTS (see
// bench/lib/compose-vs-baseline.mjs) tune the compose one; BENCH_WAN_RTTS (default 20,50,100),
// BENCH_WAN_RUNS (default 2), BENCH_WAN_SCENARIOS and BENCH_WAN_MBPS the WAN one;
// BENCH_SNAPSHOT_RUNS (2) and BENCH_SNAPSHOT_MIB (1024) the snapshot one. docs/performance.md explains them.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { composeVsBaseline } from './lib/compose-vs-baseline.mjs';
import { controlPlane } from './lib/control-plane.mjs';
import { forwarder } from './lib/forwarder.mjs';
import { grace } from './lib/grace.mjs';
import { runLoad } from './lib/http-load.mjs';
import { leases } from './lib/leases.mjs';
import { placement } from './lib/placement.mjs';
import { startServe } from './lib/serve.mjs';
import { snapshots } from './lib/snapshots.mjs';
import { wan } from './lib/wan.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const results = join(root, 'bench', 'results');
mkdirSync(results, { recursive: true });

async function httpLoad() {
  const token = 'bench-token-0123456789abcdef';
  const env = {
    ...process.env,
    SANDBOXER_HOME: mkdtempSync(join(tmpdir(), 'sbx-bench-')),
    SANDBOXER_API_TOKENS: token,
    SANDBOXER_INITIAL_CREDITS: '100000',
  };
  const { url, stop } = await startServe(env);
  const body = {
    profile: 'saas-stub',
    inputs: { repo: join(root, 'tests/fixtures/sample-repo') },
    consumer: 'bench',
  };
  await runLoad({ url, token, pairs: 20, concurrency: 4, body }); // warm-up, not reported
  const result = await runLoad({ url, token, pairs: 200, concurrency: 20, body });
  await stop();
  rmSync(env.SANDBOXER_HOME, { recursive: true, force: true });
  const ms = (v) => `${v.toFixed(1)} ms`;
  console.log('HTTP API load: 200 create/destroy pairs, 20 at a time, embedded backend (saas-stub)');
  console.log(
    `  errors: ${result.errors.length}   wall: ${result.seconds.toFixed(2)} s   ${result.pairsPerSecond.toFixed(1)} pairs/s`,
  );
  for (const kind of ['create', 'destroy']) {
    const r = result[kind];
    console.log(
      `  ${kind.padEnd(8)} p50 ${ms(r.p50)}   p90 ${ms(r.p90)}   p99 ${ms(r.p99)}   max ${ms(r.max)}   (n=${r.count})`,
    );
  }
  writeFileSync(join(results, 'http-load.json'), `${JSON.stringify(result, null, 2)}\n`);
  return result.errors.length === 0;
}

// Knobs of `node bench/run.mjs` (turbo never runs it, so they are not turbo task inputs).
const { BENCH_ONLY: only, BENCH_RUNS, BENCH_PARTS, BENCH_PLACEMENT_RECORDS } = process.env;
const { BENCH_WAN_RTTS, BENCH_WAN_RUNS, BENCH_WAN_SCENARIOS, BENCH_WAN_MBPS } = process.env;
const { BENCH_SNAPSHOT_RUNS, BENCH_SNAPSHOT_MIB } = process.env;
const list = (text) =>
  text
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean);
const benchmarks = {
  'http-load': httpLoad,
  'compose-vs-baseline': () =>
    composeVsBaseline({
      results,
      runs: Math.max(1, Number(BENCH_RUNS || 3)),
      parts: (BENCH_PARTS || 'pairs,cli,concurrency').split(',').map((p) => p.trim()),
    }),
  forwarder: () => forwarder({ results }),
  'control-plane': () => controlPlane({ results }),
  placement: () => placement({ results, records: Number(BENCH_PLACEMENT_RECORDS || 2000) }),
  leases: () => leases({ results }),
  grace: () => grace({ results }),
  wan: () =>
    wan({
      results,
      rtts: list(BENCH_WAN_RTTS || '20,50,100').map(Number),
      runs: Math.max(1, Number(BENCH_WAN_RUNS || 2)),
      scenarios: list(BENCH_WAN_SCENARIOS || 'small_cold,large_warm'),
      mbps: Math.max(0, Number(BENCH_WAN_MBPS || 0)),
    }),
  snapshots: () =>
    snapshots({
      results,
      runs: Math.max(1, Number(BENCH_SNAPSHOT_RUNS || 2)),
      mib: Math.max(1, Number(BENCH_SNAPSHOT_MIB || 1024)),
    }),
};

if (only && !(only in benchmarks)) {
  console.error(`BENCH_ONLY=${only}: no such benchmark (have: ${Object.keys(benchmarks).join(', ')})`);
  process.exit(2);
}
let ok = true;
for (const [name, run] of Object.entries(benchmarks)) {
  if (only && name !== only) continue;
  if (!(await run())) {
    console.error(`benchmark ${name}: some runs failed (see above)`);
    ok = false;
  }
  console.log();
}
process.exitCode = ok ? 0 : 1;
