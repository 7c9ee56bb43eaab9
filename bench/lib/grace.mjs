// The teardown-grace benchmark (issue 22): a stack with a service that ignores SIGTERM
// (tests/fixtures/compose-stubborn), created and destroyed by sand-boxer with its default grace
// (stop_timeout 2 s), by sand-boxer with Docker's 10 s (its old default, the baseline measured in the
// same run), and by the `make e2e` script (`compose down -v`: Docker's 10 s). Reported: destroy and
// create+destroy wall times, and the ratios. Writes bench/results/grace.json.
import { spawnSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatJson } from './json-file.mjs';
import { ratio, summary } from './stats.mjs';
import { testbedCli } from './testbed.mjs';

const ROOT = join(import.meta.dirname, '..', '..');
const BASELINE = join(ROOT, 'bench', 'baseline', 'make-e2e.sh');
const FIXTURE = join(ROOT, 'tests', 'fixtures', 'compose-stubborn');

const timed = (fn) => {
  const started = performance.now();
  const value = fn();
  return { ms: performance.now() - started, value };
};

export async function grace({ results, runs = 3 }) {
  const { testbed, home, cli, hostArgs } = testbedCli('sbx-bench-grace-');
  const sandboxer = (extra) => {
    const create = timed(() =>
      JSON.parse(
        cli(['create', '-p', 'compose-e2e', '-i', `repo=${FIXTURE}`, ...extra, ...hostArgs, '--json']),
      ),
    );
    const destroy = timed(() => cli(['destroy', create.value.id]));
    return { create_ms: create.ms, destroy_ms: destroy.ms, total_ms: create.ms + destroy.ms };
  };
  const script = (n) => {
    const out = spawnSync('bash', [BASELINE], {
      encoding: 'utf8',
      env: {
        ...process.env,
        BASELINE_HOST: testbed.host,
        BASELINE_PORT: String(testbed.port),
        BASELINE_USER: testbed.user,
        BASELINE_KEY: testbed.key,
        BASELINE_KNOWN_HOSTS: testbed.knownHosts,
        BASELINE_REPO: FIXTURE,
        BASELINE_DIR: `/tmp/sbx-bench-grace-baseline-${process.pid}-${n}`,
        BASELINE_PROJECT: `bench-grace-${n}`,
        BASELINE_COMPOSE_CMD: testbed.composeCmd,
      },
    });
    if (out.status !== 0) throw new Error(`make-e2e.sh failed: ${out.stderr.slice(-500)}`);
    const r = JSON.parse(out.stdout.trim().split('\n').pop());
    return { create_ms: r.create_ms, destroy_ms: r.total_ms - r.create_ms, total_ms: r.total_ms };
  };
  const rows = { short: [], docker: [], script: [] };
  try {
    for (let i = 0; i < runs; i++) {
      rows.short.push(sandboxer([]));
      rows.docker.push(sandboxer(['-i', 'stop_timeout=10']));
      rows.script.push(script(i));
    }
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
  const med = (list, key) => summary(list.map((r) => r[key])).median;
  const result = {
    runs,
    fixture: 'tests/fixtures/compose-stubborn (web + a worker that ignores SIGTERM)',
    sandboxer_grace_2s: rows.short,
    sandboxer_grace_10s: rows.docker,
    script: rows.script,
    ratios: {
      destroy_short_over_10s: med(rows.short, 'destroy_ms') / med(rows.docker, 'destroy_ms'),
      total_short_over_script: med(rows.short, 'total_ms') / med(rows.script, 'total_ms'),
      total_10s_over_script: med(rows.docker, 'total_ms') / med(rows.script, 'total_ms'),
    },
  };
  const s = (ms) => `${(ms / 1000).toFixed(2)} s`;
  console.log(`Teardown grace: a stack with a service that ignores SIGTERM, ${runs} runs each (medians)`);
  for (const [name, list] of [
    ['sand-boxer, grace 2 s', rows.short],
    ['sand-boxer, grace 10 s', rows.docker],
    ['make e2e script (10 s)', rows.script],
  ]) {
    console.log(
      `  ${name.padEnd(24)} create ${s(med(list, 'create_ms'))}   destroy ${s(med(list, 'destroy_ms'))}   total ${s(med(list, 'total_ms'))}`,
    );
  }
  console.log(
    `  destroy 2 s / 10 s: ${ratio(result.ratios.destroy_short_over_10s)}; create+destroy vs the script: ${ratio(result.ratios.total_short_over_script)} (with 10 s: ${ratio(result.ratios.total_10s_over_script)})`,
  );
  writeFileSync(join(results, 'grace.json'), formatJson(result));
  return true;
}
