// The snapshot benchmark (issue 22): snapshot and restore of a compose stack holding 1 GiB of volume
// data (tests/fixtures/compose-stateful, profile compose-checkpoint: busybox httpd with a named
// volume), through the counting proxy, as a user runs them. Each run: a cold create of the stack
// (the yardstick for restore), 1 GiB from /dev/urandom into the volume (`sandboxer exec --service`),
// `snapshot create`, `destroy`, `restore` (to ready), a check that the data came back, `destroy`,
// `snapshot delete`. Targets: snapshot ≤ 4 s per GiB (E2B's published pause rate), restore-to-ready
// ≤ the same stack's cold create. Then, once, where the time goes: each pass the capture and the
// restore make over the data, timed alone on the host. Writes bench/results/snapshots.json.
// Knobs: BENCH_SNAPSHOT_RUNS (default 2), BENCH_SNAPSHOT_MIB (default 1024).
import { rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { benchContext, CLI, counted, sandboxerState } from './compose-runs.mjs';
import { buildInfo } from './compose-vs-baseline.mjs';
import { formatJson } from './json-file.mjs';
import { snapshotPrint, snapshotTargets } from './snapshots-report.mjs';
import { bytes, seconds, summary } from './stats.mjs';
import { loadTestbed, onHost, sweepProjects } from './testbed.mjs';
import { runTimed } from './timed-run.mjs';

const ROOT = join(import.meta.dirname, '..', '..');
const FIXTURE = join(ROOT, 'tests', 'fixtures', 'compose-stateful');
const PROFILE = 'compose-checkpoint';
const BLOB = '/srv/vol/blob';
const log = (text = '') => console.log(text);

function parse(text) {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** One CLI command through the proxy: its run, what it sent and received, its --json output. */
async function cli(ctx, env, args) {
  const { result, net } = await counted(ctx, () =>
    runTimed(process.execPath, [CLI, ...args], { env, cwd: ctx.scratch, tree: true }),
  );
  if (result.code !== 0) {
    throw new Error(`sandboxer ${args.join(' ')} exited ${result.code}: ${result.stderr.trim().slice(-600)}`);
  }
  return { ms: result.ms, json: parse(result.stdout), stdout: result.stdout, net, lines: result.lines };
}

/** The gaps between a command's progress lines, for "where the time goes". */
const steps = (lines) =>
  lines.map((l, i) => ({
    t: Math.round(l.t),
    after_ms: Math.round(l.t - (lines[i - 1]?.t ?? 0)),
    text: l.text,
  }));

async function oneRun(ctx, i, mib) {
  const env = sandboxerState(ctx, `snap-${i}`);
  const run = {};
  const created = await cli(ctx, env, ['create', '-p', PROFILE, '-i', `repo=${FIXTURE}`, '--json', '-v']);
  const id = created.json.id;
  ctx.live.set(id, env);
  ctx.projects.add(`sbx-${id}`);
  run.cold_create_ms = created.ms;
  const fill = `dd if=/dev/urandom of=${BLOB} bs=1M count=${mib} 2>/dev/null && sync && stat -c %s ${BLOB}`;
  const seeded = await cli(ctx, env, ['exec', id, '--service', 'web', '--', 'sh', '-c', fill]);
  run.seed_ms = seeded.ms;
  run.seed_bytes = Number(seeded.stdout.trim());
  const snap = await cli(ctx, env, ['snapshot', 'create', id, '--json', '-v']);
  const record = snap.json;
  ctx.snapshots.push({ env, id: record.id });
  run.snapshot_ms = snap.ms;
  run.snapshot = {
    id: record.id,
    size_bytes: record.size_bytes,
    paused_ms: record.paused_ms,
    net_bytes: snap.net.bytesUp + snap.net.bytesDown,
    steps: steps(snap.lines),
  };
  run.artifact = record.locations?.find((l) => l.kind === 'host')?.path;
  const destroyed = await cli(ctx, env, ['destroy', id, '--json']);
  ctx.live.delete(id);
  run.destroy_ms = destroyed.ms;
  const restored = await cli(ctx, env, ['restore', record.id, '--json', '-v']);
  const rid = restored.json.id;
  ctx.live.set(rid, env);
  ctx.projects.add(`sbx-${rid}`);
  run.restore_ms = restored.ms;
  run.restore = { net_bytes: restored.net.bytesUp + restored.net.bytesDown, steps: steps(restored.lines) };
  const check = await cli(ctx, env, ['exec', rid, '--service', 'web', '--', 'stat', '-c', '%s', BLOB]);
  run.restored_bytes = Number(check.stdout.trim());
  run.restored_sandbox = rid;
  return run;
}

/**
 * Each pass over the data, alone, on the host (not through the proxy), as snapshot-commands.ts and
 * restore-commands.ts make them for a format 2 artifact: the volume read out with `docker cp` alone
 * (the floor), the capture's pass (the stream appended to the artifact, services paused), its hash
 * afterwards from the page cache (OpenSSL, and coreutils' sha256sum for comparison), the same-pass
 * alternative that was measured and refused (`tee` into the hash while paused), and the restore's
 * fill (the member into `docker cp -`, hashed through a FIFO in the same read).
 */
async function passes(ctx, sandboxId) {
  const engine = 'docker';
  const container = (
    await onHost(ctx.testbed, `${engine} ps -q --filter label=com.docker.compose.project=sbx-${sandboxId}`)
  ).trim();
  const work = `${ctx.hostRoot}/passes`;
  const time = async (name, script) => {
    const out = await onHost(
      ctx.testbed,
      `s=$(date +%s%N); { ${script}; } >/dev/null; e=$(date +%s%N); echo $(( (e - s) / 1000000 ))`,
    );
    return [name, Number(out.trim().split('\n').pop())];
  };
  await onHost(ctx.testbed, `mkdir -p ${work}`);
  const result = Object.fromEntries([
    await time('docker_cp_out_to_dev_null', `${engine} cp ${container}:/srv/vol - > /dev/null`),
    // The capture, while the services are paused: the stream appended to the artifact.
    await time('docker_cp_out_to_artifact', `${engine} cp ${container}:/srv/vol - >> ${work}/artifact`),
    // After they are resumed: the member's hash, from the page cache the write filled.
    await time('sha256_openssl', `openssl dgst -sha256 -r < ${work}/artifact`),
    await time('sha256sum_coreutils', `sha256sum < ${work}/artifact`),
    // The same-pass alternative (hash while paused), measured and refused: it lengthens the pause.
    await time(
      'docker_cp_out_tee_to_file_and_sha256',
      `${engine} cp ${container}:/srv/vol - | tee ${work}/other | openssl dgst -sha256 -r`,
    ),
    await time('sync_flush_to_disk', 'sync'),
    // A restore: the member out of the artifact into `docker cp -`, hashed in the same read.
    await time(
      'member_into_docker_cp_in_and_sha256',
      `mkfifo ${work}/fifo; openssl dgst -sha256 -r < ${work}/fifo > /dev/null & tail -c +1 ${work}/artifact | head -c $(stat -c %s ${work}/artifact) | tee ${work}/fifo | ${engine} cp - ${container}:/tmp; wait`,
    ),
  ]);
  await onHost(ctx.testbed, `rm -rf ${work}; ${engine} exec ${container} rm -rf /tmp/vol`);
  return result;
}

export async function snapshots({ results, runs, mib }) {
  let testbed;
  try {
    testbed = loadTestbed();
    await onHost(testbed, 'true');
  } catch (error) {
    log(`snapshots: SKIPPED, the testbed is not reachable (${error.message.split('\n')[0]})`);
    return true;
  }
  const started = Date.now();
  log(`Snapshots: a compose stack with ${mib} MiB of volume data, ${runs} runs`);
  const ctx = { ...(await benchContext(testbed, 'snap')), snapshots: [] };
  const { proxy } = ctx;
  const out = {
    generated_at: new Date().toISOString(),
    machine: { cpus: cpus().length, cpu: cpus()[0]?.model, node: process.version, loadavg_start: loadavg() },
    settings: { runs, mib, fixture: 'tests/fixtures/compose-stateful', profile: PROFILE },
    sandboxer: buildInfo(),
    runs: [],
  };
  let ok = true;
  try {
    for (let i = 0; i < runs; i += 1) {
      const run = await oneRun(ctx, i, mib);
      out.runs.push(run);
      log(
        `  [${i + 1}/${runs}] cold create ${seconds(run.cold_create_ms)}, seed ${seconds(run.seed_ms)}, snapshot ${seconds(run.snapshot_ms)} (${bytes(run.snapshot.size_bytes)}, paused ${run.snapshot.paused_ms} ms), restore ${seconds(run.restore_ms)}, data back: ${run.restored_bytes === run.seed_bytes ? 'yes' : `NO (${run.restored_bytes} of ${run.seed_bytes})`}`,
      );
      ok &&= run.restored_bytes === run.seed_bytes;
      if (i === runs - 1) out.passes_ms = await passes(ctx, run.restored_sandbox);
      await cleanUpRun(ctx);
    }
  } catch (error) {
    log(`  FAILED: ${error.message}`);
    ok = false;
  } finally {
    await cleanUpRun(ctx);
    const swept = sweepProjects(ctx.projects);
    if (swept.length > 0) log(`  cleanup removed leftovers: ${swept.join(', ')}`);
    await onHost(testbed, `rm -rf -- '${ctx.hostRoot}'`).catch(() => {});
    await proxy.close();
    rmSync(ctx.scratch, { recursive: true, force: true });
  }
  if (out.runs.length === 0) return false;
  const of = (pick) => summary(out.runs.map(pick));
  out.summary = {
    cold_create_ms: of((r) => r.cold_create_ms),
    seed_ms: of((r) => r.seed_ms),
    snapshot_ms: of((r) => r.snapshot_ms),
    restore_ms: of((r) => r.restore_ms),
    paused_ms: of((r) => r.snapshot.paused_ms),
    size_bytes: of((r) => r.snapshot.size_bytes),
    snapshot_net_bytes: of((r) => r.snapshot.net_bytes),
    restore_net_bytes: of((r) => r.restore.net_bytes),
  };
  const gib = out.summary.size_bytes.median / 2 ** 30;
  out.summary.snapshot_s_per_gib = out.summary.snapshot_ms.median / 1000 / gib;
  out.summary.restore_vs_cold_create = out.summary.restore_ms.median / out.summary.cold_create_ms.median;
  out.summary.restore_vs_create_and_seed =
    out.summary.restore_ms.median / (out.summary.cold_create_ms.median + out.summary.seed_ms.median);
  out.targets = snapshotTargets(out);
  out.machine.loadavg_end = loadavg();
  out.seconds = (Date.now() - started) / 1000;
  snapshotPrint(out, log);
  writeFileSync(join(results, 'snapshots.json'), formatJson(out));
  log(`in ${out.seconds.toFixed(0)} s; results in bench/results/snapshots.json`);
  return ok;
}

/** Destroys this run's live sandboxes and deletes its snapshots (their artifacts on the host). */
async function cleanUpRun(ctx) {
  for (const [id, env] of ctx.live) {
    const run = await runTimed(process.execPath, [CLI, 'destroy', id, '--json'], {
      env,
      afterInterrupt: true,
    });
    if (run.code === 0) ctx.live.delete(id);
  }
  for (const { env, id } of ctx.snapshots.splice(0)) {
    await runTimed(process.execPath, [CLI, 'snapshot', 'delete', id, '--json'], {
      env,
      afterInterrupt: true,
    });
  }
}
