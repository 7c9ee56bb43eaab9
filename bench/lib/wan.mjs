// The WAN benchmark (issue 22): the compose-vs-baseline scenarios that a remote host makes costly —
// small repo cold create+destroy, and the large repo's warm re-create (one file changed) — with the
// counting proxy holding every chunk RTT/2 in each direction (this kernel has no netem), for both
// sand-boxer and the baseline script, at each RTT of BENCH_WAN_RTTS. Ratios are sand-boxer /
// baseline in the same run, at the same RTT. Also counts, per create and per destroy, the
// connections (each a TCP + SSH handshake), the session channels sshd started (commands), the turns
// and the waits (tcp-count-proxy.mjs), and how many round trips each create's time grows by per
// RTT (the slope of create time against RTT: its critical path in round trips).
// Writes bench/results/wan.{json,svg}.
import { writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { editFile, largeRepo, smallRepo } from '../fixtures/large-repo.mjs';
import * as report from './compose-report.mjs';
import { baselinePair, benchContext, sandboxerPair, sandboxerState } from './compose-runs.mjs';
import { buildInfo, cleanUp, describe } from './compose-vs-baseline.mjs';
import { formatJson } from './json-file.mjs';
import { bytes } from './stats.mjs';
import { loadTestbed, onHost } from './testbed.mjs';
import { interruptAll } from './timed-run.mjs';
import { wanPrint, wanSummary } from './wan-report.mjs';
import { wanChart } from './wan-svg.mjs';

const log = (text = '') => console.log(text);
export const WAN_SCENARIOS = [
  { key: 'small_cold', title: 'small repo, cold create+destroy' },
  { key: 'large_warm', title: 'large repo, warm re-create (one file changed)' },
];

/**
 * @param {{ results: string, rtts: number[], runs: number, scenarios: string[], mbps: number }} options
 *   mbps: the simulated link's rate each way, 0 for loopback's (the default: delay only)
 * @returns {Promise<boolean>} false when a run failed (targets never fail it)
 */
export async function wan({ results, rtts, runs, scenarios, mbps }) {
  let testbed;
  try {
    testbed = loadTestbed();
    await onHost(testbed, 'true');
  } catch (error) {
    log(`WAN: SKIPPED, the testbed is not reachable (${error.message.split('\n')[0]})`);
    return true;
  }
  const started = Date.now();
  log(
    `WAN: compose over SSH vs the baseline through a delay proxy, RTT ${rtts.join(', ')} ms${mbps > 0 ? `, ${mbps} Mbit/s` : ''}, ${runs} runs each`,
  );
  const small = smallRepo();
  const large = scenarios.includes('large_warm') ? largeRepo() : undefined;
  const ctx = await benchContext(testbed, 'wan');
  const { proxy } = ctx;
  let interrupted = false;
  const onSignal = () => {
    if (interrupted) return;
    interrupted = true;
    log('\ninterrupted: stopping running creates (they roll back), then cleaning up what this run created');
    interruptAll().catch(() => {});
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const out = {
    generated_at: new Date().toISOString(),
    machine: { cpus: cpus().length, cpu: cpus()[0]?.model, node: process.version, loadavg_start: loadavg() },
    settings: {
      rtts_ms: rtts,
      link_mbps: mbps > 0 ? mbps : 'unlimited (loopback)',
      runs,
      scenarios,
      compose: testbed.composeCmd,
      proxy: 'bench/lib/tcp-count-proxy.mjs (delay-line.mjs)',
    },
    sandboxer: buildInfo(),
    fixtures: {
      small: { files: small.manifest.file_count, bytes: small.manifest.total_bytes },
      ...(large ? { large: { files: large.manifest.file_count, bytes: large.manifest.total_bytes } } : {}),
    },
    by_rtt: [],
  };
  let ok = true;
  try {
    // The warm scenario's sync cache: one unmeasured large cold create+destroy, on loopback.
    const warmState = () => sandboxerState(ctx, 'large-warm');
    if (large) {
      const t = Date.now();
      const prime = await sandboxerPair(ctx, warmState(), large.dir);
      if (!prime.ok) throw new Error(`priming the sync cache failed: ${prime.error}`);
      out.prime_seconds = (Date.now() - t) / 1000;
      log(`  sync cache primed (a large cold create+destroy on loopback, ${out.prime_seconds.toFixed(1)} s)`);
    }
    for (const rtt of rtts) {
      proxy.setDelay(rtt / 2, mbps);
      log(`\nRTT ${rtt} ms:`);
      const raw = Object.fromEntries(scenarios.map((key) => [key, { sandboxer: [], baseline: [] }]));
      for (let i = 0; i < runs; i += 1) {
        const order = i % 2 === 0 ? ['sandboxer', 'baseline'] : ['baseline', 'sandboxer'];
        for (const key of scenarios) {
          const repo = key === 'small_cold' ? small.dir : large.dir;
          if (key === 'large_warm') editFile(repo, `wan-${rtt}-${i}`);
          for (const tool of order) {
            const run =
              tool === 'sandboxer'
                ? await sandboxerPair(
                    ctx,
                    key === 'small_cold' ? sandboxerState(ctx, `small-${rtt}-${i}`) : warmState(),
                    repo,
                  )
                : await baselinePair(ctx, repo, `wan${rtt}-${key}-${i}`.replace('_', '-'));
            raw[key][tool].push(run);
            log(`  [${key} ${i + 1}/${runs}] ${describe(tool, run)}${counts(run)}`);
            ok &&= run.ok;
          }
        }
      }
      out.by_rtt.push({ rtt_ms: rtt, scenarios: summarizeScenarios(raw) });
    }
  } catch (error) {
    if (!interrupted) throw error;
  } finally {
    if (interrupted) await interruptAll();
    proxy.setDelay(0, 0);
    await cleanUp(ctx);
    await proxy.close();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  if (interrupted) {
    log('interrupted: cleaned up; no results written');
    process.exit(130);
  }
  out.machine.loadavg_end = loadavg();
  Object.assign(out, wanSummary(out));
  out.seconds = (Date.now() - started) / 1000;
  wanPrint(out, log);
  // A run on a rate-limited link is a variant: it does not replace the committed delay-only results.
  const name = mbps > 0 ? `wan-${mbps}mbps` : 'wan';
  writeFileSync(join(results, `${name}.json`), formatJson(out));
  writeFileSync(join(results, `${name}.svg`), wanChart(out));
  log(`in ${out.seconds.toFixed(0)} s; results in bench/results/${name}.{json,svg}`);
  return ok;
}

/** `, 2 conn, 9 commands, 40 turns, 12 waits` for a run's create. */
function counts(run) {
  if (!run.ok) return '';
  const c = run.create;
  return ` | create: ${c.connections} conn, ${c.sessions} commands, ${c.turns} turns, ${c.waits} waits; sent ${bytes(c.bytes_sent)}`;
}

function summarizeScenarios(raw) {
  const scenarios = {};
  for (const [key, runs] of Object.entries(raw)) {
    const sandboxer = report.summarize(runs.sandboxer);
    const baseline = report.summarize(runs.baseline);
    scenarios[key] = {
      sandboxer,
      baseline,
      ratios: report.ratios(sandboxer, baseline),
      raw: runs,
    };
  }
  return scenarios;
}
