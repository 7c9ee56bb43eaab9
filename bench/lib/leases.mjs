// The leases benchmark (issue 20): what keeping a lease costs, and how soon a vanished runner's
// sandbox is gone. A keeper (`create --lease`, as the action starts one) is measured over a window
// against an idle `node` process started at the same time (the runtime's own floor): CPU seconds per
// hour and resident memory, for a 20 s lease (renewed every 5 s) and a 60 s one (every 15 s, the
// action's default). Then VANISHINGS sandboxes lose their keeper (SIGKILL, staggered as runners
// vanish) and each is timed from the kill to nothing left on the host (no container, no network, no
// directory): p50 and max against the target, lease + 15 s. Writes bench/results/leases.json.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { formatJson } from './json-file.mjs';
import { cpuOf, rss } from './proc.mjs';
import { bytes } from './stats.mjs';
import { testbedCli } from './testbed.mjs';

const ROOT = join(import.meta.dirname, '..', '..');
const FIXTURE = join(ROOT, 'tests', 'fixtures', 'compose-http');
const LEASE = 20;

/** What the host still holds of a sandbox: compose containers and networks, its directory. */
function leftovers(id, dir) {
  const label = `label=com.docker.compose.project=sbx-${id}`;
  const docker = (...args) =>
    execFileSync('docker', [...args, '--filter', label], { encoding: 'utf8' }).trim();
  return [docker('ps', '-aq'), docker('network', 'ls', '-q'), existsSync(dir) ? dir : ''].filter(Boolean);
}

const percentile = (values, q) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? Number.NaN;
};

export async function leases({ results, vanishings = 20, windowSeconds = 60 }) {
  const { home, cli, hostArgs } = testbedCli('sbx-bench-lease-');
  const create = (lease) =>
    JSON.parse(
      cli([
        'create',
        '-p',
        'compose-e2e',
        '-i',
        `repo=${FIXTURE}`,
        ...hostArgs,
        '--lease',
        `${lease}s`,
        '--json',
      ]),
    );
  const made = [];
  const children = [];
  try {
    // 1. The keeper's cost over a window, beside an idle node started with it.
    const kept = [create(LEASE), create(60)];
    made.push(...kept);
    const idle = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)']);
    children.push(idle);
    await sleep(1000);
    const pids = [idle.pid, ...kept.map((r) => r.keeper.pid)];
    const cpuSeconds = (pid) => cpuOf(pid).self / 1000;
    const before = pids.map(cpuSeconds);
    await sleep(windowSeconds * 1000);
    const perHour = pids.map((pid, i) => ((cpuSeconds(pid) - before[i]) * 3600) / windowSeconds);
    const memory = pids.map(rss);
    const keeperCost = kept.map((r, i) => ({
      lease_seconds: r.lease_seconds,
      renewals_per_hour: 3600 / (r.lease_seconds / 4),
      cpu_seconds_per_hour: perHour[i + 1],
      rss_bytes: memory[i + 1],
      cpu_over_idle_node: perHour[i + 1] / Math.max(perHour[0], 0.01),
      rss_over_idle_node: memory[i + 1] / memory[0],
    }));
    for (const r of kept) cli(['destroy', r.id]);

    // 2. Vanishings: keepers killed one after another; each sandbox timed until nothing is left.
    const doomed = [];
    for (let i = 0; i < vanishings; i++) {
      const r = create(LEASE);
      made.push(r);
      doomed.push({ id: r.id, dir: r.reachability.remote_dir, keeper: r.keeper.pid });
    }
    const gone = await Promise.all(
      doomed.map(async (d, i) => {
        await sleep(i * 1500);
        process.kill(d.keeper, 'SIGKILL');
        const killed = Date.now();
        while (leftovers(d.id, d.dir).length > 0 && Date.now() - killed < (LEASE + 60) * 1000)
          await sleep(250);
        return { sandbox: d.id, seconds: (Date.now() - killed) / 1000, left: leftovers(d.id, d.dir) };
      }),
    );
    const times = gone.map((g) => g.seconds);
    const result = {
      window_seconds: windowSeconds,
      baseline: { name: 'idle node process', cpu_seconds_per_hour: perHour[0], rss_bytes: memory[0] },
      keepers: keeperCost,
      vanishings: {
        lease_seconds: LEASE,
        count: gone.length,
        p50_seconds: percentile(times, 0.5),
        max_seconds: Math.max(...times),
        target_max_seconds: LEASE + 15,
        left_behind: gone.filter((g) => g.left.length > 0),
        each: gone,
      },
    };
    console.log(`Leases: keepers measured over ${windowSeconds} s beside an idle node process`);
    console.log(`  idle node                 CPU ${perHour[0].toFixed(2)} s/h   RSS ${bytes(memory[0])}`);
    for (const k of keeperCost) {
      console.log(
        `  keeper, lease ${String(k.lease_seconds).padStart(2)}s       CPU ${k.cpu_seconds_per_hour.toFixed(2)} s/h (${k.renewals_per_hour} renewals/h)   RSS ${bytes(k.rss_bytes)} (${k.rss_over_idle_node.toFixed(2)}× idle node)`,
      );
    }
    const v = result.vanishings;
    console.log(
      `  ${v.count} vanished runners (lease ${LEASE}s): nothing left after p50 ${v.p50_seconds.toFixed(1)} s, max ${v.max_seconds.toFixed(1)} s (target ≤ ${v.target_max_seconds} s); left behind: ${v.left_behind.length}`,
    );
    writeFileSync(join(results, 'leases.json'), formatJson(result));
    return v.max_seconds <= v.target_max_seconds && v.left_behind.length === 0;
  } finally {
    for (const child of children) child.kill();
    for (const r of made) {
      try {
        cli(['destroy', r.id]);
      } catch {}
    }
    rmSync(home, { recursive: true, force: true });
  }
}
