// N sandboxes created at once on one host (compose-ssh, the small repo), as N CI jobs on one runner
// machine would: N `sandboxer create` processes sharing one SANDBOXER_HOME, started together; then
// N `destroy` processes at once. Reports the wall time of each batch, throughput, and sand-boxer's
// own CPU per create (the CLI's Node process; rsync/ssh children separately).
import { counted, sandboxerCreate, sandboxerDestroy, sandboxerState } from './compose-runs.mjs';
import { summary } from './stats.mjs';

function parse(text) {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/**
 * @param {import('./compose-runs.mjs').Context} ctx
 * @param {number} n sandboxes at once
 * @param {string} repo
 */
export async function concurrentBatch(ctx, n, repo) {
  const env = sandboxerState(ctx, `concurrent-${n}`, Math.max(64, n * 2));
  const started = performance.now();
  const creates = await counted(ctx, () =>
    Promise.all(Array.from({ length: n }, () => sandboxerCreate(ctx, env, repo))),
  );
  const createWall = performance.now() - started;
  const ids = [];
  const errors = [];
  for (const run of creates.result) {
    const record = parse(run.stdout);
    if (run.code === 0 && record?.id) {
      ids.push(record.id);
      ctx.live.set(record.id, env);
      ctx.projects.add(`sbx-${record.id}`);
    } else {
      const failed = record?.error?.details?.sandbox;
      if (failed) ctx.projects.add(`sbx-${failed}`);
      errors.push(`create exited ${run.code}: ${run.stderr.trim().split('\n').slice(-3).join(' | ')}`);
    }
  }
  const destroyStarted = performance.now();
  const destroys = await counted(ctx, () => Promise.all(ids.map((id) => sandboxerDestroy(ctx, env, id))));
  const destroyWall = performance.now() - destroyStarted;
  destroys.result.forEach((run, i) => {
    if (run.code === 0 && parse(run.stdout)?.state === 'destroyed') ctx.live.delete(ids[i]);
    else errors.push(`destroy ${ids[i]} exited ${run.code}: ${run.stderr.trim().split('\n').pop()}`);
  });
  const selfCpu = creates.result.map((r) => r.self?.cpu_ms ?? Number.NaN);
  const treeCpu = creates.result.map((r) => r.tree?.cpu_ms ?? Number.NaN);
  const sum = (values) => values.filter(Number.isFinite).reduce((a, b) => a + b, 0);
  return {
    n,
    ok: ids.length,
    errors,
    create_wall_ms: createWall,
    destroy_wall_ms: destroyWall,
    creates_per_minute: (ids.length / createWall) * 60_000,
    create_latency_ms: summary(creates.result.filter((r) => r.code === 0).map((r) => r.ms)),
    // Start to "provisioning on …": start-up, routing and the wait for the store's route lock.
    start_to_provisioning_ms: summary(
      creates.result.map((r) => r.lines.find((l) => /: provisioning on /.test(l.text))?.t ?? Number.NaN),
    ),
    destroy_latency_ms: summary(destroys.result.map((r) => r.ms)),
    cpu_per_create_ms: {
      self_mean: sum(selfCpu) / n,
      self: summary(selfCpu),
      with_children_mean: sum(treeCpu) / n,
    },
    cpu_per_destroy_ms: {
      self_mean: sum(destroys.result.map((r) => r.self?.cpu_ms ?? 0)) / Math.max(1, ids.length),
    },
    max_rss_mb: Math.max(...creates.result.map((r) => r.self?.max_rss_mb ?? 0)),
    connections_per_create: creates.net.connections / n,
    ssh_logins_per_create: creates.logged.filter(Boolean).length / n,
    connections_per_destroy: destroys.net.connections / Math.max(1, ids.length),
  };
}
