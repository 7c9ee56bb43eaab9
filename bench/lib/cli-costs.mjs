// What the CLI costs before it does any work: start-up (`--version`), `list --json` over a store of
// 1,000 sandboxes, and peak memory — each against `node -e ""`, the floor any Node CLI pays.
// Runs are interleaved (A, B, A, B, …) so drift on the machine hits both sides alike.
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sandboxRecordSchema } from '../../packages/core/dist/index.js';
import { CLI } from './compose-runs.mjs';

const ACTION = join(import.meta.dirname, '..', '..', 'actions', 'sandbox', 'dist', 'index.js');

import { median, summary } from './stats.mjs';
import { runTimed } from './timed-run.mjs';

/** A deterministic 12-character [a-z0-9] id (the store only reads files named like one). */
function fakeId(i) {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  return [...createHash('sha256').update(`bench-record-${i}`).digest().subarray(0, 12)]
    .map((byte) => alphabet[byte % 36])
    .join('');
}

/** A ready compose-ssh sandbox record, as the file store keeps it (packages/core/src/records/sandbox.ts). */
function fakeRecord(i, now) {
  const id = fakeId(i);
  const created = new Date(now - (i + 1) * 60_000);
  const iso = (ms) => new Date(created.getTime() + ms).toISOString();
  const target = {
    name: 'docker1',
    ssh: { address: '10.0.0.5', port: 22, user: 'ci', identity_file: '/home/ci/.ssh/id_ed25519' },
    labels: ['docker'],
    base_dir: '/srv/sandboxer',
    capacity: 2000,
  };
  const dir = `/srv/sandboxer/sbx-${id}`;
  return {
    id,
    state: 'ready',
    profile: 'profile.compose-e2e',
    extension: 'ext.compose-ssh',
    host: 'docker1',
    consumer: `ci-run-${i}@runner`,
    account: `ci-run-${i}@runner`,
    created_at: iso(0),
    updated_at: iso(6000),
    provisioned_at: iso(3500),
    ready_at: iso(6000),
    expires_at: new Date(now + 24 * 3600_000).toISOString(),
    ttl_seconds: 86_400,
    target,
    handle: {
      sandbox_id: id,
      host: 'docker1',
      target,
      remote_dir: dir,
      compose_project: `sbx-${id}`,
      compose_command: 'docker compose',
      compose_files: ['docker-compose.yml', '.sandboxer-compose.labels.yml'],
      services: ['web', 'db'],
      stop_timeout: 10,
      wait_timeout: 120,
      env_keys: [],
    },
    reachability: {
      host: 'docker1',
      ssh: 'ssh://ci@10.0.0.5:22',
      remote_dir: dir,
      compose_project: `sbx-${id}`,
      endpoints: { 'web:8080': `127.0.0.1:${32768 + i}`, 'db:5432': `127.0.0.1:${42768 + i}` },
    },
  };
}

/**
 * A SANDBOXER_HOME holding `count` ready sandboxes, each file the very text the store writes (the
 * record as the schema parses it, in the schema's key order), so `list` reads them as it reads a
 * real store's.
 */
export function homeWithRecords(count) {
  const home = mkdtempSync(join(tmpdir(), 'sbx-bench-list-'));
  const dir = join(home, 'sandboxes');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const now = Date.now();
  for (let i = 0; i < count; i += 1) {
    const record = fakeRecord(i, now);
    const text = `${JSON.stringify(sandboxRecordSchema.parse(record), null, 2)}\n`;
    writeFileSync(join(dir, `${record.id}.json`), text, { mode: 0o600 });
  }
  return home;
}

/** Median wall time of `a` and of `b`, `runs` times each, interleaved, after one warm-up each. */
async function interleaved(a, b, runs) {
  const times = { a: [], b: [] };
  await a();
  await b();
  for (let i = 0; i < runs; i += 1) {
    const first = i % 2 === 0 ? ['a', a] : ['b', b];
    const second = i % 2 === 0 ? ['b', b] : ['a', a];
    for (const [name, fn] of [first, second]) times[name].push((await fn()).ms);
  }
  return { a: summary(times.a), b: summary(times.b) };
}

function mustSucceed(run, what) {
  if (run.code !== 0) throw new Error(`${what} exited ${run.code}: ${run.stderr.trim()}`);
  return run;
}

/**
 * @param {{ runs?: number, records?: number }} [options]
 */
export async function cliCosts({ runs = 20, records = 1000 } = {}) {
  const node = () => runTimed(process.execPath, ['-e', '']).then((r) => mustSucceed(r, 'node -e ""'));
  const version = () =>
    runTimed(process.execPath, [CLI, '--version']).then((r) => mustSucceed(r, 'sandboxer --version'));
  const startup = await interleaved(version, node, runs);

  const home = homeWithRecords(records);
  try {
    const env = { ...process.env, SANDBOXER_HOME: home };
    const list = () =>
      runTimed(process.execPath, [CLI, 'list', '--json'], { env }).then((r) => mustSucceed(r, 'list --json'));
    const check = await list();
    const listed = JSON.parse(check.stdout).length;
    if (listed !== records) throw new Error(`list --json printed ${listed} of ${records} generated records`);
    const listing = await interleaved(list, node, Math.max(5, Math.round(runs / 2)));

    // Peak memory and CPU: the Node process's own (cpu-probe), median of 3 runs each.
    const probe = async (args, runEnv) => {
      const rss = [];
      const cpu = [];
      for (let i = 0; i < 3; i += 1) {
        const run = mustSucceed(
          await runTimed(process.execPath, args, { env: runEnv, probe: true }),
          args.join(' '),
        );
        rss.push(run.self?.max_rss_mb ?? Number.NaN);
        cpu.push(run.self?.cpu_ms ?? Number.NaN);
      }
      return { rss: median(rss), cpu: median(cpu) };
    };
    // Start-up of a create, to its first check (an unknown profile: everything is loaded, the
    // declarations are read, nothing is made), from the CLI and from the action's bundle (its main
    // step, as a runner starts it: inputs in INPUT_* variables, state and output files).
    const jobDir = mkdtempSync(join(tmpdir(), 'sbx-bench-action-'));
    writeFileSync(join(jobDir, 'state'), '');
    writeFileSync(join(jobDir, 'output'), '');
    const firstCheck = {
      ...env,
      INPUT_PROFILE: 'no-such-profile',
      RUNNER_TEMP: jobDir,
      GITHUB_STATE: join(jobDir, 'state'),
      GITHUB_OUTPUT: join(jobDir, 'output'),
    };
    const refused = (what) => (r) => {
      if (!/unknown profile "no-such-profile"/.test(r.stdout + r.stderr))
        throw new Error(`${what} did not stop at the unknown profile: ${r.stdout}${r.stderr}`);
      return r;
    };
    const cliCreate = () =>
      runTimed(process.execPath, [CLI, 'create', '-p', 'no-such-profile'], { env: firstCheck }).then(
        refused('sandboxer create'),
      );
    const action = () =>
      runTimed(process.execPath, [ACTION], { env: firstCheck }).then(refused('the action'));
    const creates = await interleaved(action, cliCreate, Math.max(5, Math.round(runs / 2)));
    rmSync(jobDir, { recursive: true, force: true });

    const probes = {
      node_e: await probe(['-e', ''], process.env),
      version: await probe([CLI, '--version'], process.env),
      list_1000: await probe([CLI, 'list', '--json'], env),
    };
    const pick = (key) => Object.fromEntries(Object.entries(probes).map(([k, v]) => [k, v[key]]));
    return {
      runs,
      records,
      startup: {
        sandboxer_version: startup.a,
        node_e: startup.b,
        ratio: startup.a.median / startup.b.median,
      },
      list: { sandboxer_list_json: listing.a, node_e: listing.b, ratio: listing.a.median / listing.b.median },
      first_check: {
        action_main: creates.a,
        cli_create: creates.b,
        ratio: creates.a.median / creates.b.median,
      },
      memory_mb: pick('rss'),
      cpu_ms: pick('cpu'),
    };
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}
