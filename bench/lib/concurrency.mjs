// N sandboxes created at once on one host (compose-ssh, the small repo), as N CI jobs on one runner
// machine would: N `sandboxer create` processes sharing one SANDBOXER_HOME, started together; then
// N `destroy` processes at once. Reports the wall time of each batch, throughput, and sand-boxer's
// own CPU per create (the CLI's Node process; rsync/ssh children separately).
import { counted, sandboxerCreate, sandboxerDestroy, sandboxerState } from './compose-runs.mjs';
import { cpuOf } from './proc.mjs';
import { startServe } from './serve.mjs';
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

/**
 * The same N creates at once through one `sandboxer serve` (the HTTP API on the same manager), as a
 * runner that keeps one sand-boxer process for its jobs would: the server's own CPU per create,
 * without a Node start-up per create. Creates are POSTed together with ?wait=true, then deleted.
 */
export async function concurrentServerBatch(ctx, n, repo) {
  const env = sandboxerState(ctx, `server-${n}`, Math.max(64, n * 2));
  const server = await startServe(env, ['--repo-root', repo], ctx.scratch);
  try {
    const { url } = server;
    const body = JSON.stringify({ profile: 'compose-e2e', inputs: { repo }, consumer: 'bench' });
    const headers = { 'content-type': 'application/json' };
    const before = cpuOf(server.pid);
    const started = performance.now();
    const created = await Promise.all(
      Array.from({ length: n }, async () => {
        const response = await fetch(`${url}/v1/sandboxes?wait=true`, { method: 'POST', headers, body });
        return { status: response.status, record: await response.json() };
      }),
    );
    const createWall = performance.now() - started;
    const afterCreates = cpuOf(server.pid);
    const errors = [];
    const ids = [];
    for (const { status, record } of created) {
      if (record?.id) ctx.projects.add(`sbx-${record.id}`);
      if (status === 201) {
        ids.push(record.id);
        ctx.live.set(record.id, env);
      } else errors.push(`create answered ${status}: ${JSON.stringify(record).slice(0, 300)}`);
    }
    const destroyStarted = performance.now();
    const destroyed = await Promise.all(
      ids.map(async (id) => {
        const response = await fetch(`${url}/v1/sandboxes/${id}`, { method: 'DELETE' });
        return { id, status: response.status, body: await response.text() };
      }),
    );
    const destroyWall = performance.now() - destroyStarted;
    const afterDestroys = cpuOf(server.pid);
    for (const { id, status, body } of destroyed) {
      if (status === 200) ctx.live.delete(id);
      else errors.push(`destroy ${id} answered ${status}: ${body.slice(0, 400)}`);
    }
    return {
      n,
      ok: ids.length,
      errors,
      create_wall_ms: createWall,
      destroy_wall_ms: destroyWall,
      creates_per_minute: (ids.length / createWall) * 60_000,
      cpu_per_create_ms: {
        server: (afterCreates.self - before.self) / n,
        rsync_ssh_children: (afterCreates.children - before.children) / n,
      },
      cpu_per_destroy_ms: { server: (afterDestroys.self - afterCreates.self) / Math.max(1, ids.length) },
    };
  } finally {
    await server.stop();
  }
}
