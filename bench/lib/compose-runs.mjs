// One measured create+destroy of the compose stack, by sand-boxer (two CLI processes) or by the
// baseline script (one bash process). Both go through the counting proxy; both report the same
// phases, which add up to the total:
//   setup  start → the sync begins (sand-boxer: Node start-up, catalog, SSH connect, mkdir)
//   sync   the repo copy (rsync; with sand-boxer's host-side cache, also the copy out of it)
//   up     sync done → `compose up -d` returned (sand-boxer: the labels file, and `compose config` only when the files need the host to merge them)
//   ready  → every service running and healthy (sand-boxer: until the CLI exits)
//   down   the whole teardown (compose down, leftover sweep, rm -rf of the directory)
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startCountingProxy } from './tcp-count-proxy.mjs';
import { makeHostRoot, onHost, sshdLog, writeHostsFile, writeProxyKnownHosts } from './testbed.mjs';
import { runTimed } from './timed-run.mjs';

const ROOT = join(import.meta.dirname, '..', '..');
export const CLI = join(ROOT, 'packages', 'cli', 'bin', 'sandboxer.js');
const BASELINE = join(ROOT, 'bench', 'baseline', 'make-e2e.sh');

/**
 * What every run shares.
 * @typedef {object} Context
 * @property {ReturnType<typeof import('./testbed.mjs').loadTestbed>} testbed
 * @property {Awaited<ReturnType<typeof import('./tcp-count-proxy.mjs').startCountingProxy>>} proxy
 * @property {ReturnType<typeof import('./testbed.mjs').sshdLog>} log
 * @property {string} knownHosts known_hosts for the proxy's port
 * @property {string} hostRoot this run's directory on the host
 * @property {string} scratch this run's local scratch directory
 * @property {string} configDir an empty declarations dir (only the built-in profiles)
 * @property {Map<string, NodeJS.ProcessEnv>} live sandboxes created and not yet destroyed, with their env
 * @property {Set<string>} projects every compose project this run started (for the final sweep)
 */

/**
 * The Context of one benchmark: the counting proxy in front of the testbed's sshd, a local scratch
 * directory `sbx-bench-<name>-*` with an empty declarations dir, and a directory on the host.
 * @returns {Promise<Context>}
 */
export async function benchContext(testbed, name) {
  const proxy = await startCountingProxy({ targetHost: testbed.host, targetPort: testbed.port });
  const scratch = mkdtempSync(join(tmpdir(), `sbx-bench-${name}-`));
  const configDir = join(scratch, 'config');
  mkdirSync(configDir); // empty: only the built-in profiles
  return {
    testbed,
    proxy,
    log: sshdLog(testbed.sshdLog),
    knownHosts: writeProxyKnownHosts(testbed, proxy.port, join(scratch, 'known_hosts')),
    hostRoot: await makeHostRoot(testbed),
    scratch,
    configDir,
    live: new Map(),
    projects: new Set(),
  };
}

/** A fresh sand-boxer state: its own SANDBOXER_HOME and hosts file with its own base dir on the host. */
export function sandboxerState(ctx, name, capacity = 64) {
  const dir = join(ctx.scratch, name);
  mkdirSync(dir, { recursive: true });
  const hostsFile = writeHostsFile(join(dir, 'hosts.yaml'), {
    testbed: ctx.testbed,
    proxyPort: ctx.proxy.port,
    knownHosts: ctx.knownHosts,
    baseDir: `${ctx.hostRoot}/${name}`,
    capacity,
  });
  return {
    ...process.env,
    SANDBOXER_HOME: join(dir, 'home'),
    SANDBOXER_HOSTS: hostsFile,
    SANDBOXER_CONFIG_DIR: ctx.configDir,
    SANDBOXER_COMPOSE_CMD: ctx.testbed.composeCmd,
  };
}

/**
 * Runs `fn` and counts what went through the proxy meanwhile: logins and session channels matched
 * in sshd's log by the connection's port, turns and waits from the proxy (tcp-count-proxy.mjs).
 */
export async function counted(ctx, fn) {
  const mark = ctx.proxy.mark();
  const logMark = ctx.log.mark();
  const startedAt = performance.now();
  const result = await fn();
  await ctx.proxy.settle();
  const net = ctx.proxy.since(mark);
  const loginPorts = new Set(ctx.log.loginPortsSince(logMark));
  const logged = net.upstreamPorts.map((p) => p !== undefined && loginPorts.has(p));
  const sessionPorts = ctx.log.sessionPortsSince(logMark);
  const sessions = net.upstreamPorts.map((p) => sessionPorts.filter((s) => s === p).length);
  // When each connection opened and each wait came, in ms since `fn` started (connection: the
  // index in `net`).
  const ms = (t) => Math.round(t - startedAt);
  const waitTimeline = [
    ...net.openedAt.map((t, connection) => ({ t: ms(t), connection, event: 'open' })),
    ...net.waitAt.flatMap((times, connection) => times.map((t) => ({ t: ms(t), connection, event: 'wait' }))),
  ].sort((a, b) => a.t - b.t);
  return { result, net, logged, sessions, waitTimeline };
}

/**
 * Traffic of a slice of connections: bytes sent, TCP connections (each a TCP + SSH handshake), SSH
 * logins seen by sshd, session channels (commands) sshd started, turns and waits (see the proxy).
 */
function traffic(counts, from = 0, to = counts.net.perConnectionUp.length) {
  const { net, logged, sessions } = counts;
  const sum = (list) => list.slice(from, to).reduce((a, b) => a + b, 0);
  return {
    bytes_sent: sum(net.perConnectionUp),
    connections: to - from,
    ssh_logins: logged.slice(from, to).filter(Boolean).length,
    sessions: sum(sessions),
    turns: sum(net.perConnectionTurns),
    waits: sum(net.perConnectionWaits),
  };
}

export function sandboxerCreate(ctx, env, repo) {
  const args = [
    CLI,
    'create',
    '-p',
    'compose-e2e',
    '-i',
    `repo=${repo}`,
    '--consumer',
    'bench',
    '--json',
    '-v',
  ];
  return runTimed(process.execPath, args, { env, cwd: ctx.scratch, probe: true, tree: true });
}

/** `afterInterrupt`: the final cleanup's destroy, which runs even after an interrupt. */
export function sandboxerDestroy(ctx, env, id, afterInterrupt = false) {
  const args = [CLI, 'destroy', id, '--json', '-v'];
  return runTimed(process.execPath, args, { env, cwd: ctx.scratch, probe: true, tree: true, afterInterrupt });
}

/** Times of the progress lines that open and close each phase of a `create -v`. */
export function createPhases(run) {
  const at = (pattern) => run.lines.find((l) => pattern.test(l.text))?.t ?? Number.NaN;
  const provisioning = at(/: provisioning on /);
  const connecting = at(/ connecting to /);
  const creating = at(/ creating \//);
  const syncStart = at(/ syncing .* with (rsync|tar)/);
  const syncEnd = at(/ synced \d+ files/);
  const upStart = at(/ -p sbx-\S+ up -d/);
  const readyStart = at(/: waiting until ready$/);
  const readyLine = at(/: ready$/);
  const reported = /synced (\d+) files, (\d+) bytes sent/.exec(run.stderr);
  return {
    phases: {
      setup: syncStart,
      sync: syncEnd - syncStart,
      up: readyStart - syncEnd,
      ready: run.ms - readyStart,
    },
    // Where sand-boxer's own time goes, between its progress lines.
    detail: {
      start_to_provisioning: provisioning,
      ssh_connect: creating - connecting,
      mkdir_to_sync: syncStart - creating,
      labels_file: upStart - syncEnd,
      compose_up: readyStart - upStart,
      wait_ready: readyLine - readyStart,
      exit_after_ready: run.ms - readyLine,
    },
    rsync_files: reported ? Number(reported[1]) : undefined,
    rsync_bytes: reported ? Number(reported[2]) : undefined,
  };
}

/** The same for `destroy -v`: up to `compose down` (connect, stopping compose commands) and after. */
export function destroyDetail(run) {
  const at = (pattern) => run.lines.find((l) => pattern.test(l.text))?.t ?? Number.NaN;
  const down = at(/ -p sbx-\S+ down /);
  return { to_compose_down: down, compose_down_to_exit: run.ms - down };
}

/** The create's progress lines with their times (ms since start), to place its waits. */
function lineTimes(run) {
  return run.lines.map((l) => ({ t: Math.round(l.t), text: l.text.slice(0, 160) }));
}

/** The record's own timestamps, as a cross-check of the phases seen from outside. */
function recordPhases(created) {
  const t = (iso) => (iso ? Date.parse(iso) : Number.NaN);
  return {
    provision_ms: t(created.provisioned_at) - t(created.created_at),
    wait_ready_ms: t(created.ready_at) - t(created.provisioned_at),
  };
}

function parse(text) {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/**
 * Waits (unmeasured) for what sand-boxer leaves running in the background on the host: the spare
 * copy of a sync cache that a teardown starts and the deletion of a destroyed sandbox's directory
 * from the trash. Without this the next measured run —
 * often the baseline's — would share the disk with them. Returns how long it waited.
 */
export async function settleBackground(ctx) {
  const started = Date.now();
  const root = `'${ctx.hostRoot}'`;
  await onHost(
    ctx.testbed,
    // A spare is copied as `<key>.spare-tmp.<pid>` and renamed under the cache's lock.
    `sleep 0.3; i=0; while [ $i -lt 600 ] && [ -n "$(find ${root} \\( -path '*/.sandboxer-trash/*' -o -path '*/.sandboxer-cache/*.spare-tmp.*' \\) -prune -print 2>/dev/null | head -n 1)" ]; do sleep 0.1; i=$((i+1)); done; ` +
      `find ${root} -path '*/.sandboxer-cache/*.lock' -exec flock {} true ';'`,
  );
  return Date.now() - started;
}

/** sand-boxer create, then destroy, in `env` (see sandboxerState). */
export async function sandboxerPair(ctx, env, repo) {
  const create = await counted(ctx, () => sandboxerCreate(ctx, env, repo));
  const record = parse(create.result.stdout);
  if (create.result.code !== 0 || !record?.id) {
    const id = record?.error?.details?.sandbox;
    if (id) ctx.projects.add(`sbx-${id}`);
    return {
      ok: false,
      error: `create exited ${create.result.code}: ${create.result.stderr.trim().slice(-600)}`,
    };
  }
  ctx.live.set(record.id, env);
  ctx.projects.add(`sbx-${record.id}`);
  const destroy = await counted(ctx, () => sandboxerDestroy(ctx, env, record.id));
  const destroyed = parse(destroy.result.stdout);
  if (destroy.result.code !== 0 || destroyed?.state !== 'destroyed') {
    return {
      ok: false,
      error: `destroy exited ${destroy.result.code}: ${destroy.result.stderr.trim().slice(-600)}`,
    };
  }
  ctx.live.delete(record.id);
  const backgroundMs = await settleBackground(ctx);
  const { phases, detail, rsync_files, rsync_bytes } = createPhases(create.result);
  phases.down = destroy.result.ms;
  Object.assign(detail, destroyDetail(destroy.result));
  return {
    ok: true,
    id: record.id,
    phases,
    create_ms: create.result.ms,
    total_ms: create.result.ms + destroy.result.ms,
    create: traffic(create),
    destroy: traffic(destroy),
    detail,
    rsync_files,
    rsync_bytes,
    // Not in any phase: the host's background work (spare copy, trash deletion) still running
    // when destroy returned.
    background_after_destroy_ms: backgroundMs,
    record_phases: recordPhases(record),
    // The create's own phase timings, when the CLI reports them (`timings` in its --json).
    ...(record.timings ? { record_timings: record.timings } : {}),
    // When the create waited a round trip (with a delay proxy): ms since start, and on which connection.
    ...(ctx.proxy.delayMs > 0
      ? { create_waits: create.waitTimeline, create_lines: lineTimes(create.result) }
      : {}),
    cpu_ms: {
      create_self: create.result.self?.cpu_ms,
      create_tree: create.result.tree?.cpu_ms,
      destroy_self: destroy.result.self?.cpu_ms,
      destroy_tree: destroy.result.tree?.cpu_ms,
      // Every process on this side (CLI, rsync, ssh), create and destroy together.
      client: (create.result.tree?.cpu_ms ?? Number.NaN) + (destroy.result.tree?.cpu_ms ?? Number.NaN),
    },
    max_rss_mb: { create: create.result.self?.max_rss_mb, destroy: destroy.result.self?.max_rss_mb },
  };
}

/** One run of bench/baseline/make-e2e.sh through the proxy. */
export async function baselinePair(ctx, repo, name) {
  const project = `bench-${name}`;
  ctx.projects.add(project);
  const env = {
    ...process.env,
    BASELINE_HOST: '127.0.0.1',
    BASELINE_PORT: String(ctx.proxy.port),
    BASELINE_USER: ctx.testbed.user,
    BASELINE_KEY: ctx.testbed.key,
    BASELINE_KNOWN_HOSTS: ctx.knownHosts,
    BASELINE_REPO: repo,
    BASELINE_DIR: `${ctx.hostRoot}/baseline/${project}`,
    BASELINE_PROJECT: project,
    BASELINE_COMPOSE_CMD: ctx.testbed.composeCmd,
  };
  const counts = await counted(ctx, () =>
    runTimed('bash', [BASELINE], { env, cwd: ctx.scratch, tree: true }),
  );
  const { result, net } = counts;
  const out = parse(result.stdout.trim().split('\n').pop() ?? '');
  if (result.code !== 0 || !out?.ok) {
    return { ok: false, error: `baseline exited ${result.code}: ${result.stderr.trim().slice(-600)}` };
  }
  // Connections in order: mkdir, rsync, up, ps…, down, rm — the last two are the teardown.
  const n = net.perConnectionUp.length;
  return {
    ok: true,
    phases: out.phases,
    create_ms: out.create_ms,
    total_ms: out.total_ms,
    wall_ms: result.ms,
    create: traffic(counts, 0, n - 2),
    destroy: traffic(counts, n - 2, n),
    ssh_invocations: out.ssh_invocations,
    ready_polls: out.ready_polls,
    compose_down_ms: out.compose_down_ms,
    remove_ms: out.remove_ms,
    // Every process on this side (bash, ssh, rsync).
    cpu_ms: { client: result.tree?.cpu_ms },
  };
}
