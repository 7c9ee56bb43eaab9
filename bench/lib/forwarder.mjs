// The forwarder benchmark (issue 16): what `sandboxer forward --detach` (the keeper the action also
// runs) costs, against baselines measured in the same run: an idle `node` process (the runtime's own
// floor) and OpenSSH's `ssh -N -L` forwarding the same ports. Reported: resident memory idle and
// after a burst of requests, SSH connections to the host (one, however many ports), and request
// latency through each forward. Writes bench/results/forwarder.json.
import { execFileSync, spawn } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { formatJson } from './json-file.mjs';
import { rss } from './proc.mjs';
import { bytes, summary } from './stats.mjs';
import { testbedCli } from './testbed.mjs';

const ROOT = join(import.meta.dirname, '..', '..');
const FIXTURE = join(ROOT, 'tests', 'fixtures', 'compose-reach');
const REQUESTS = 400;
const CONCURRENCY = 8;

/** Established TCP connections of `pid` to the sshd at `port`. */
function sshConnections(pid, port) {
  const out = execFileSync('ss', ['-tnpH', 'state', 'established', `dport = :${port}`], { encoding: 'utf8' });
  return out.split('\n').filter((l) => l.includes(`pid=${pid},`)).length;
}

const freePort = () =>
  new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });

/** GET `url` `n` times, `concurrency` at a time, on fresh connections; latencies in ms. */
async function burst(url, n, concurrency) {
  const latencies = [];
  let errors = 0;
  let next = 0;
  const one = () =>
    new Promise((resolve) => {
      const started = performance.now();
      const req = request(url, { agent: false }, (res) => {
        res.resume();
        res.on('end', () => {
          latencies.push(performance.now() - started);
          resolve();
        });
      });
      req.on('error', () => {
        errors += 1;
        resolve();
      });
      req.end();
    });
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < n) {
        next += 1;
        await one();
      }
    }),
  );
  return { latencies, errors };
}

const p = (values, q) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
};

export async function forwarder({ results }) {
  const { testbed, home, cli, hostArgs } = testbedCli('sbx-bench-forward-');
  const record = JSON.parse(
    cli(['create', '-p', 'compose-e2e', '-i', `repo=${FIXTURE}`, ...hostArgs, '--json']),
  );
  const children = [];
  try {
    const endpoints = record.reachability.endpoints;
    // Baseline 1: the runtime's floor, an idle node process.
    const idle = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)']);
    children.push(idle);
    // Baseline 2: OpenSSH forwarding the same two ports over one connection.
    const sshPorts = { web: await freePort(), db: await freePort() };
    const ssh = spawn('ssh', [
      '-N',
      '-i',
      testbed.key,
      '-o',
      `UserKnownHostsFile=${testbed.knownHosts}`,
      '-o',
      'StrictHostKeyChecking=yes',
      '-o',
      'BatchMode=yes',
      '-p',
      String(testbed.port),
      '-L',
      `127.0.0.1:${sshPorts.web}:${endpoints['web:8080']}`,
      '-L',
      `127.0.0.1:${sshPorts.db}:${endpoints['db:5432']}`,
      `${testbed.user}@${testbed.host}`,
    ]);
    children.push(ssh);
    const keeper = JSON.parse(cli(['forward', record.id, '--detach', '--json']));
    await sleep(1500);

    const measure = async (name, pid, url) => {
      const idleRss = rss(pid);
      const run = await burst(url, REQUESTS, CONCURRENCY);
      const loadedRss = rss(pid);
      return {
        name,
        rss_idle_bytes: idleRss,
        rss_after_load_bytes: loadedRss,
        ssh_connections: pid === idle.pid ? 0 : sshConnections(pid, testbed.port),
        requests: REQUESTS,
        errors: run.errors,
        latency_ms: {
          p50: p(run.latencies, 0.5),
          p90: p(run.latencies, 0.9),
          max: Math.max(...run.latencies),
        },
      };
    };
    const openssh = await measure('ssh -N -L (OpenSSH)', ssh.pid, `http://127.0.0.1:${sshPorts.web}/`);
    const ours = await measure('sandboxer forward --detach', keeper.pid, keeper.urls['web:8080']);
    const floor = { name: 'idle node process', rss_idle_bytes: rss(idle.pid) };
    const result = {
      ports_forwarded: Object.keys(keeper.urls).length,
      requests: REQUESTS,
      concurrency: CONCURRENCY,
      baselines: { node: floor, openssh },
      keeper: ours,
      ratios: {
        keeper_rss_over_idle_node: ours.rss_after_load_bytes / floor.rss_idle_bytes,
        keeper_rss_over_openssh: ours.rss_after_load_bytes / openssh.rss_after_load_bytes,
        keeper_p50_over_openssh_p50: ours.latency_ms.p50 / openssh.latency_ms.p50,
      },
      latency_summary: summary([ours.latency_ms.p50, openssh.latency_ms.p50]),
    };
    console.log(
      `Forwarder: ${result.ports_forwarded} ports of a compose-reach sandbox, ${REQUESTS} GETs, ${CONCURRENCY} at a time`,
    );
    for (const r of [floor, openssh, ours]) {
      const load = r.latency_ms
        ? `   after load ${bytes(r.rss_after_load_bytes)}   ssh connections ${r.ssh_connections}   p50 ${r.latency_ms.p50.toFixed(2)} ms   p90 ${r.latency_ms.p90.toFixed(2)} ms   errors ${r.errors}`
        : '';
      console.log(`  ${r.name.padEnd(28)} RSS ${bytes(r.rss_idle_bytes)}${load}`);
    }
    console.log(
      `  keeper RSS = ${result.ratios.keeper_rss_over_idle_node.toFixed(2)}× an idle node, ${result.ratios.keeper_rss_over_openssh.toFixed(1)}× OpenSSH; p50 latency ${result.ratios.keeper_p50_over_openssh_p50.toFixed(2)}× OpenSSH's`,
    );
    writeFileSync(join(results, 'forwarder.json'), formatJson(result));
    return ours.errors === 0 && ours.ssh_connections === 1;
  } finally {
    for (const child of children) child.kill();
    try {
      cli(['destroy', record.id]);
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  }
}
