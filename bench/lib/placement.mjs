// The placement benchmark (issue 18): what choosing a host costs when the request names a pool of 50
// hosts, with 2,000 records in the state store (500 live), against the same route to one named host
// in the same run (the baseline). Routing only: nothing connects to a host. Writes
// bench/results/placement.json.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { percentile } from './http-load.mjs';
import { formatJson } from './json-file.mjs';

const ROOT = join(import.meta.dirname, '..', '..');
const HOSTS = 50;
const LIVE = 500;
const RUNS = 200;

const id = () =>
  randomBytes(9)
    .toString('base64url')
    .toLowerCase()
    .replace(/[^a-z0-9]/g, 'a')
    .slice(0, 12);

export async function placement({ results, records: RECORDS = 2000 }) {
  const core = await import(join(ROOT, 'packages', 'core', 'dist', 'index.js'));
  const home = mkdtempSync(join(tmpdir(), 'sbx-bench-placement-'));
  try {
    const hosts = Array.from({ length: HOSTS }, (_, i) => `h${String(i).padStart(2, '0')}`);
    writeFileSync(
      join(home, 'hosts.yaml'),
      `hosts:\n${hosts.map((h, i) => `  ${h}: { address: 10.1.${Math.floor(i / 250)}.${(i % 250) + 1}, user: ci, capacity: 20, labels: [docker] }`).join('\n')}\npools:\n  docker: { labels: [docker] }\n`,
    );
    const store = new core.FileStateStore(home);
    const now = Date.now();
    for (let i = 0; i < RECORDS; i++) {
      const live = i < LIVE;
      await store.putSandbox({
        id: id(),
        state: live ? 'ready' : 'destroyed',
        profile: 'profile.compose-e2e',
        extension: 'ext.compose-ssh',
        host: hosts[i % HOSTS],
        consumer: 'bench',
        created_at: new Date(now - i * 1000).toISOString(),
        updated_at: new Date(now).toISOString(),
        expires_at: new Date(now + 3_600_000).toISOString(),
        ttl_seconds: 3600,
      });
    }
    const manager = core.openManager({ home, cwd: ROOT, hostsFile: join(home, 'hosts.yaml') });
    const repo = join(ROOT, 'tests', 'fixtures', 'compose-http');
    const time = async (host) => {
      const times = [];
      for (let i = 0; i < RUNS; i++) {
        const t0 = performance.now();
        const decision = await manager.routeReport({ profile: 'compose-e2e', inputs: { repo }, host });
        times.push(performance.now() - t0);
        if (!decision.chosen) throw new Error(`nothing chosen for ${host}`);
      }
      const sorted = times.sort((a, b) => a - b);
      return { p50_ms: percentile(sorted, 50), p99_ms: percentile(sorted, 99) };
    };
    await time('h00'); // warm-up: declarations, hosts file
    const single = await time('h00');
    const pool = await time('docker');
    const result = {
      hosts: HOSTS,
      records: RECORDS,
      live: LIVE,
      runs: RUNS,
      one_named_host: single,
      pool_of_50: pool,
      ratio_p50: pool.p50_ms / single.p50_ms,
    };
    console.log(
      `Placement: route to a pool of ${HOSTS} hosts, ${RECORDS} records in the store (${LIVE} live), ${RUNS} runs`,
    );
    console.log(`  one named host   p50 ${single.p50_ms.toFixed(2)} ms   p99 ${single.p99_ms.toFixed(2)} ms`);
    console.log(
      `  pool of ${HOSTS}       p50 ${pool.p50_ms.toFixed(2)} ms   p99 ${pool.p99_ms.toFixed(2)} ms   (${result.ratio_p50.toFixed(2)}× one host)`,
    );
    writeFileSync(join(results, 'placement.json'), formatJson(result));
    return true;
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}
