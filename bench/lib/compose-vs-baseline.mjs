// The compose benchmark (issue 9): sand-boxer's ext.compose-ssh against the hand-rolled `make e2e`
// (bench/baseline/make-e2e.sh) on the real testbed, both through a counting TCP proxy. Parts
// (BENCH_PARTS, comma-separated; all by default):
//   pairs        create+destroy, alternately and BENCH_RUNS times each: small cold, large cold, large warm
//   cli          start-up, `list --json` over 1,000 sandboxes, peak memory
//   concurrency  1, 4 and 16 creates at once on one host: throughput and CPU per create
// Writes bench/results/compose-vs-baseline.{json,svg}. Targets are reported, never enforced.
import { execFileSync } from 'node:child_process';
import { rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { editFile, largeRepo, smallRepo } from '../fixtures/large-repo.mjs';
import { cliCosts } from './cli-costs.mjs';
import * as report from './compose-report.mjs';
import {
  baselinePair,
  benchContext,
  sandboxerDestroy,
  sandboxerPair,
  sandboxerState,
  settleBackground,
} from './compose-runs.mjs';
import { concurrentBatch, concurrentServerBatch } from './concurrency.mjs';
import { formatJson } from './json-file.mjs';
import { chartOf } from './results-svg.mjs';
import { bytes, seconds } from './stats.mjs';
import { loadTestbed, onHost, sweepProjects } from './testbed.mjs';
import { GNU_TIME, interruptAll } from './timed-run.mjs';

const log = (text = '') => console.log(text);
const ROOT = join(import.meta.dirname, '..', '..');

/** Which sand-boxer was measured: the commit, uncommitted changes under packages/, when dist was built. */
export function buildInfo() {
  // Read-only: `--no-optional-locks` keeps `git status` from refreshing the index under someone's feet.
  const git = (...args) => {
    try {
      return execFileSync('git', args, { cwd: ROOT, encoding: 'utf8' }).trim();
    } catch {
      return undefined;
    }
  };
  const builtAt = (path) => statSync(join(ROOT, path), { throwIfNoEntry: false })?.mtime.toISOString();
  return {
    commit: git('rev-parse', '--short', 'HEAD'),
    packages_changed_since_commit:
      (git('--no-optional-locks', 'status', '--porcelain', '--', 'packages') ?? '') !== '',
    core_dist_built_at: builtAt('packages/core/dist/index.js'),
    cli_bundle_built_at: builtAt('packages/cli/bundle/index.js'),
  };
}

/** One line about one run of a tool, for the terminal. */
export function describe(tool, run) {
  if (!run.ok) return `${tool}: FAILED ${run.error}`;
  const p = run.phases;
  return `${tool}: ${seconds(run.total_ms)} (setup ${seconds(p.setup)}, sync ${seconds(p.sync)}, up ${seconds(p.up)}, ready ${seconds(p.ready)}, down ${seconds(p.down)}), sent ${bytes(run.create.bytes_sent)}, SSH logins ${run.create.ssh_logins}+${run.destroy.ssh_logins}`;
}

/** create+destroy pairs, the two tools alternating (which goes first swaps every round). */
async function pairs(ctx, repos, runs) {
  const raw = Object.fromEntries(report.SCENARIOS.map((s) => [s.key, { sandboxer: [], baseline: [] }]));
  for (let i = 0; i < runs; i += 1) {
    const order = i % 2 === 0 ? ['sandboxer', 'baseline'] : ['baseline', 'sandboxer'];
    const warmState = sandboxerState(ctx, `large-${i}`);
    const plan = [
      ['small_cold', repos.small, () => sandboxerState(ctx, `small-${i}`)],
      ['large_cold', repos.large, () => warmState],
      ['large_warm', repos.large, () => warmState],
    ];
    for (const [key, repo, state] of plan) {
      if (key === 'large_warm') editFile(repo, `run-${i}`);
      for (const tool of order) {
        const run =
          tool === 'sandboxer'
            ? await sandboxerPair(ctx, state(), repo)
            : await baselinePair(ctx, repo, `${key}-${i}`.replace('_', '-'));
        raw[key][tool].push(run);
        log(`  [${key} ${i + 1}/${runs}] ${describe(tool, run)}`);
      }
    }
  }
  const scenarios = {};
  for (const { key } of report.SCENARIOS) {
    const sandboxer = {
      ...report.summarize(raw[key].sandboxer),
      max_rss_mb: report.peakRss(raw[key].sandboxer),
    };
    const baseline = report.summarize(raw[key].baseline);
    scenarios[key] = { sandboxer, baseline, ratios: report.ratios(sandboxer, baseline), raw: raw[key] };
  }
  return scenarios;
}

/** Destroys what is still live, sweeps our compose projects, removes our directory on the host. */
export async function cleanUp(ctx) {
  for (const [id, env] of ctx.live) {
    const run = await sandboxerDestroy(ctx, env, id, true).catch(() => undefined);
    if (run?.code === 0) ctx.live.delete(id);
  }
  const swept = sweepProjects(ctx.projects);
  if (swept.length > 0) log(`  cleanup removed leftovers: ${swept.join(', ')}`);
  // Spare copies of the sync caches and trash deletions may still be running.
  await settleBackground(ctx).catch(() => {});
  await onHost(ctx.testbed, `rm -rf -- '${ctx.hostRoot}'`).catch((error) =>
    log(`  cleanup: could not remove ${ctx.hostRoot} on the host: ${error.message}`),
  );
  rmSync(ctx.scratch, { recursive: true, force: true });
}

/**
 * @param {{ results: string, runs: number, parts: string[] }} options
 * @returns {Promise<boolean>} false when a run failed (targets never fail it)
 */
export async function composeVsBaseline({ results, runs, parts }) {
  let testbed;
  try {
    testbed = loadTestbed();
    await onHost(testbed, 'true');
  } catch (error) {
    log(`compose vs baseline: SKIPPED, the testbed is not reachable (${error.message.split('\n')[0]})`);
    log(
      '  bring it up with `sudo bash tests/testbed/up.sh`, then run `BENCH_ONLY=compose-vs-baseline pnpm bench`',
    );
    return true;
  }
  const started = Date.now();
  log(
    `Compose over SSH vs the baseline (make e2e), ${runs} runs each, on ${testbed.user}@${testbed.host}:${testbed.port}`,
  );
  const small = smallRepo();
  const large = largeRepo();
  log(
    `  repos: small ${small.manifest.file_count} files ${bytes(small.manifest.total_bytes)}, large ${large.manifest.file_count} files ${bytes(large.manifest.total_bytes)} (${large.reused ? 'cached' : 'generated'} in ${large.dir})`,
  );
  if (!GNU_TIME)
    log('  note: /usr/bin/time is missing (apt-get install time): CPU with children is not measured');

  const ctx = await benchContext(testbed, 'compose');
  const { proxy } = ctx;
  // On SIGINT/SIGTERM: stop what runs (creates roll back), start nothing new, and let the `finally`
  // below clean up before exiting 130.
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
    settings: { runs, parts, compose: testbed.composeCmd, proxy: 'bench/lib/tcp-count-proxy.mjs' },
    sandboxer: buildInfo(),
    fixtures: {
      small: { files: small.manifest.file_count, bytes: small.manifest.total_bytes },
      large: { files: large.manifest.file_count, bytes: large.manifest.total_bytes },
    },
  };
  let ok = true;
  try {
    if (parts.includes('pairs')) {
      log('\npairs (create+destroy, alternating):');
      out.scenarios = await pairs(ctx, { small: small.dir, large: large.dir }, runs);
      ok &&= Object.values(out.scenarios).every((s) => !s.sandboxer.failed && !s.baseline.failed);
    }
    if (parts.includes('cli')) {
      log('\nCLI start-up, list and memory…');
      out.cli = await cliCosts({ runs: 20, records: 1000 });
    }
    if (parts.includes('concurrency')) {
      log('\nconcurrent creates on one host (small repo):');
      out.concurrency = [];
      for (const n of [1, 4, 16]) {
        const batch = await concurrentBatch(ctx, n, small.dir);
        out.concurrency.push(batch);
        log(
          `  ${n} at once: ${batch.ok}/${n} created in ${seconds(batch.create_wall_ms)}, CPU/create ${Math.round(batch.cpu_per_create_ms.self_mean)} ms${batch.errors.length ? `, errors: ${batch.errors.join('; ')}` : ''}`,
        );
        ok &&= batch.errors.length === 0;
      }
      log('\nthe same through one `sandboxer serve` (no Node start-up per create):');
      out.concurrency_server = [];
      for (const n of [1, 4, 16]) {
        const batch = await concurrentServerBatch(ctx, n, small.dir);
        out.concurrency_server.push(batch);
        log(
          `  ${n} at once: ${batch.ok}/${n} created in ${seconds(batch.create_wall_ms)}, server CPU/create ${Math.round(batch.cpu_per_create_ms.server)} ms${batch.errors.length ? `, errors: ${batch.errors.join('; ')}` : ''}`,
        );
        ok &&= batch.errors.length === 0;
      }
    }
  } catch (error) {
    if (!interrupted) throw error;
  } finally {
    if (interrupted) await interruptAll(); // waits for whatever is still rolling back
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
  const after = buildInfo();
  if (
    after.core_dist_built_at !== out.sandboxer.core_dist_built_at ||
    after.cli_bundle_built_at !== out.sandboxer.cli_bundle_built_at
  ) {
    out.sandboxer.rebuilt_during_run = after;
    log(
      '\nWARNING: packages/*/dist changed during the run (a rebuild?): the figures mix two builds of sand-boxer',
    );
  }
  out.targets = report.targets(out);
  out.seconds = (Date.now() - started) / 1000;
  print(out);
  writeFileSync(join(results, 'compose-vs-baseline.json'), formatJson(out));
  if (out.scenarios) writeFileSync(join(results, 'compose-vs-baseline.svg'), chartOf(out));

  return ok;
}

function print(out) {
  for (const { key, title } of report.SCENARIOS) {
    const sc = out.scenarios?.[key];
    if (!sc) continue;
    log(`\n${title} (medians, min–max; ratio = sand-boxer / baseline)\n`);
    log(report.scenarioTable(sc));
  }
  if (out.scenarios)
    log(
      `\nwhere sand-boxer's time goes (between its progress lines)\n\n${report.detailTable(out.scenarios)}`,
    );
  if (out.cli) log(`\nCLI costs\n\n${report.cliTable(out.cli)}`);
  if (out.concurrency) log(`\nconcurrent creates on one host\n\n${report.throughputTable(out.concurrency)}`);
  if (out.concurrency_server)
    log(
      `\nthe same through one \`sandboxer serve\`\n\n${report.serverThroughputTable(out.concurrency_server)}`,
    );
  log(`\ntargets (reported, not enforced)\n\n${report.targetsTable(out.targets)}`);
  const load = (l) => l.map((v) => v.toFixed(1)).join(' ');
  log(
    `\nload average at start ${load(out.machine.loadavg_start)}, at end ${load(out.machine.loadavg_end)} (${out.machine.cpus} CPUs)`,
  );
  log(`in ${out.seconds.toFixed(0)} s; results in bench/results/compose-vs-baseline.{json,svg}`);
}
