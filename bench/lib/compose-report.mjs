// Turns the compose benchmark's raw runs into summaries, the targets (met / not met, with
// the figure) and Markdown tables — the same text in the terminal and in docs/performance.md.
import { bytes, range, ratio, seconds, summary } from './stats.mjs';

export const PHASES = ['setup', 'sync', 'up', 'ready', 'down', 'total'];
export const SCENARIOS = [
  { key: 'small_cold', title: 'small repo, cold' },
  { key: 'large_cold', title: 'large repo, cold' },
  { key: 'large_warm', title: 'large repo, warm (one file changed)' },
];

/** Medians and ranges of one tool's successful runs in one scenario. */
export function summarize(runs) {
  const ok = runs.filter((r) => r.ok);
  const of = (pick) => summary(ok.map(pick));
  return {
    runs: ok.length,
    failed: runs.length - ok.length,
    phases: Object.fromEntries(PHASES.map((p) => [p, of((r) => (p === 'total' ? r.total_ms : r.phases[p]))])),
    create_ms: of((r) => r.create_ms),
    bytes_sent_create: of((r) => r.create.bytes_sent),
    bytes_sent_destroy: of((r) => r.destroy.bytes_sent),
    connections_create: of((r) => r.create.connections),
    ssh_logins_create: of((r) => r.create.ssh_logins),
    ssh_logins_destroy: of((r) => r.destroy.ssh_logins),
    connections_destroy: of((r) => r.destroy.connections),
    // Round trips at the transport (tcp-count-proxy.mjs) and commands (sshd's session starts).
    sessions_create: of((r) => r.create.sessions),
    sessions_destroy: of((r) => r.destroy.sessions),
    turns_create: of((r) => r.create.turns),
    turns_destroy: of((r) => r.destroy.turns),
    waits_create: of((r) => r.create.waits),
    waits_destroy: of((r) => r.destroy.waits),
    client_cpu_ms: of((r) => r.cpu_ms?.client),
    ...(ok[0]?.detail
      ? { detail: Object.fromEntries(Object.keys(ok[0].detail).map((k) => [k, of((r) => r.detail[k])])) }
      : {}),
  };
}

const r = (a, b) => a / b;

/** sand-boxer / baseline per phase (medians). */
export function ratios(sbx, base) {
  return {
    ...Object.fromEntries(PHASES.map((p) => [p, r(sbx.phases[p].median, base.phases[p].median)])),
    create: r(sbx.create_ms.median, base.create_ms.median),
    bytes_sent_create: r(sbx.bytes_sent_create.median, base.bytes_sent_create.median),
  };
}

/** The targets, each with its figure and whether it is met today. */
export function targets(results) {
  const list = [];
  const add = (target, value, limit, figure) =>
    list.push({
      target,
      value,
      limit,
      status: Number.isFinite(value) ? (value <= limit ? 'met' : 'not met') : 'not measured',
      figure,
    });
  const s = results.scenarios ?? {};
  for (const key of ['small_cold', 'large_cold']) {
    const sc = s[key];
    if (!sc) continue;
    add(
      `cold create+destroy, ${key.startsWith('small') ? 'small' : 'large'} repo ≤ 1.0× baseline`,
      sc.ratios.total,
      1.0,
      `${ratio(sc.ratios.total)} (${seconds(sc.sandboxer.phases.total.median)} vs ${seconds(sc.baseline.phases.total.median)})`,
    );
  }
  const warm = s.large_warm;
  if (warm) {
    add(
      'warm large re-create (one file changed) ≤ 0.3× baseline wall time',
      warm.ratios.create,
      0.3,
      `${ratio(warm.ratios.create)} (create ${seconds(warm.sandboxer.create_ms.median)} vs ${seconds(warm.baseline.create_ms.median)})`,
    );
    add(
      'warm large re-create ≤ 1% of the baseline’s bytes',
      warm.ratios.bytes_sent_create,
      0.01,
      `${(warm.ratios.bytes_sent_create * 100).toFixed(1)}% (${bytes(warm.sandboxer.bytes_sent_create.median)} vs ${bytes(warm.baseline.bytes_sent_create.median)})`,
    );
  }
  const logins = Object.values(s).map((sc) => sc.sandboxer.ssh_logins_create.max);
  if (logins.length > 0) {
    const worst = Math.max(...logins);
    add(
      'SSH connections per create ≤ 2',
      worst,
      2,
      `${worst} (most in any create; destroy: ${s.small_cold?.sandboxer.ssh_logins_destroy.max ?? 'n/a'})`,
    );
  }
  const cli = results.cli;
  if (cli) {
    add(
      '`sandboxer --version` ≤ 2× `node -e ""`',
      cli.startup.ratio,
      2,
      `${ratio(cli.startup.ratio)} (${Math.round(cli.startup.sandboxer_version.median)} ms vs ${Math.round(cli.startup.node_e.median)} ms)`,
    );
    if (cli.first_check) {
      add(
        "the action's bundle starts as fast as the CLI (≤ 1.2× its create, to the first check)",
        cli.first_check.ratio,
        1.2,
        `${ratio(cli.first_check.ratio)} (${Math.round(cli.first_check.action_main.median)} ms vs ${Math.round(cli.first_check.cli_create.median)} ms)`,
      );
    }
    add(
      '`list --json` with 1,000 sandboxes ≤ 3× `node -e ""`',
      cli.list.ratio,
      3,
      `${ratio(cli.list.ratio)} (${Math.round(cli.list.sandboxer_list_json.median)} ms vs ${Math.round(cli.list.node_e.median)} ms)`,
    );
  }
  const peaks = [
    ...(cli
      ? [
          ['--version', cli.memory_mb.version],
          ['list --json (1,000)', cli.memory_mb.list_1000],
        ]
      : []),
    ...Object.entries(s).flatMap(([key, sc]) => [
      [`create (${key})`, sc.sandboxer.max_rss_mb?.create],
      [`destroy (${key})`, sc.sandboxer.max_rss_mb?.destroy],
    ]),
    ...(results.concurrency ?? []).map((c) => [`create (${c.n} at once)`, c.max_rss_mb]),
  ].filter(([, v]) => Number.isFinite(v));
  if (peaks.length > 0) {
    const [what, peak] = peaks.reduce((a, b) => (b[1] > a[1] ? b : a));
    add('CLI peak memory ≤ 100 MB', peak, 100, `${peak.toFixed(0)} MB (${what})`);
  }
  const sixteen = (results.concurrency ?? []).find((c) => c.n === 16);
  if (sixteen) {
    const cpu = sixteen.cpu_per_create_ms.self_mean;
    add(
      'CPU per create ≤ 100 ms at 16 concurrent',
      cpu,
      100,
      `${Math.round(cpu)} ms (the CLI's Node process; ${Math.round(sixteen.cpu_per_create_ms.with_children_mean)} ms with rsync/ssh)`,
    );
  }
  const served = (results.concurrency_server ?? []).find((c) => c.n === 16);
  if (served) {
    const cpu = served.cpu_per_create_ms.server;
    add(
      'CPU per create ≤ 100 ms at 16 concurrent, through one `sandboxer serve`',
      cpu,
      100,
      `${Math.round(cpu)} ms (the server's process; rsync and ssh ${Math.round(served.cpu_per_create_ms.rsync_ssh_children)} ms more)`,
    );
  }
  return list;
}

/** Max peak RSS of a tool's runs in a scenario (sand-boxer's create and destroy processes). */
export function peakRss(runs) {
  const ok = runs.filter((run) => run.ok);
  return {
    create: Math.max(...ok.map((run) => run.max_rss_mb?.create ?? 0)),
    destroy: Math.max(...ok.map((run) => run.max_rss_mb?.destroy ?? 0)),
  };
}

/** A Markdown table with aligned columns (readable in a terminal, pasteable into the docs). */
export function table(header, rows) {
  const widths = header.map((h, i) =>
    Math.max(3, h.length, ...rows.map((row) => String(row[i] ?? '').length)),
  );
  const line = (cells) => `| ${cells.map((c, i) => String(c ?? '').padEnd(widths[i])).join(' | ')} |`;
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

/** The phase table of one scenario. */
export function scenarioTable(sc) {
  const rows = PHASES.map((p) => [
    p,
    range(sc.sandboxer.phases[p]),
    range(sc.baseline.phases[p]),
    ratio(sc.ratios[p]),
  ]);
  rows.push(
    [
      'bytes sent, create',
      range(sc.sandboxer.bytes_sent_create, bytes),
      range(sc.baseline.bytes_sent_create, bytes),
      ratio(sc.ratios.bytes_sent_create),
    ],
    [
      'bytes sent, destroy',
      range(sc.sandboxer.bytes_sent_destroy, bytes),
      range(sc.baseline.bytes_sent_destroy, bytes),
      '',
    ],
    [
      'client CPU (all local processes)',
      range(sc.sandboxer.client_cpu_ms),
      range(sc.baseline.client_cpu_ms),
      ratio(sc.sandboxer.client_cpu_ms.median / sc.baseline.client_cpu_ms.median),
    ],
    [
      'SSH logins create / destroy',
      `${sc.sandboxer.ssh_logins_create.median} / ${sc.sandboxer.ssh_logins_destroy.median}`,
      `${sc.baseline.ssh_logins_create.median} / ${sc.baseline.ssh_logins_destroy.median}`,
      '',
    ],
  );
  return table(['phase', 'sand-boxer', 'baseline', 'ratio'], rows);
}

/** Where sand-boxer's create and destroy spend their time (from its progress lines), per scenario. */
export function detailTable(scenarios) {
  const keys = SCENARIOS.filter((s) => scenarios[s.key]?.sandboxer.detail);
  if (keys.length === 0) return '';
  const names = Object.keys(scenarios[keys[0].key].sandboxer.detail);
  return table(
    ['sand-boxer step', ...keys.map((s) => s.title)],
    names.map((name) => [
      name.replaceAll('_', ' '),
      ...keys.map((s) => range(scenarios[s.key].sandboxer.detail[name])),
    ]),
  );
}

export function throughputTable(batches) {
  return table(
    [
      'at once',
      'created',
      'wall (all creates)',
      'creates/min',
      'create latency',
      'start → provisioning',
      'destroy wall (all)',
      'CPU/create (CLI)',
      'CPU/create (+rsync, ssh)',
      'SSH logins/create',
    ],
    batches.map((b) => [
      String(b.n),
      `${b.ok}/${b.n}`,
      seconds(b.create_wall_ms),
      b.creates_per_minute.toFixed(1),
      range(b.create_latency_ms),
      range(b.start_to_provisioning_ms),
      seconds(b.destroy_wall_ms),
      `${Math.round(b.cpu_per_create_ms.self_mean)} ms`,
      `${Math.round(b.cpu_per_create_ms.with_children_mean)} ms`,
      String(b.ssh_logins_per_create),
    ]),
  );
}

export function serverThroughputTable(batches) {
  return table(
    [
      'at once',
      'created',
      'wall (all creates)',
      'creates/min',
      'destroy wall (all)',
      'server CPU/create',
      'rsync, ssh CPU/create',
      'server CPU/destroy',
    ],
    batches.map((b) => [
      String(b.n),
      `${b.ok}/${b.n}`,
      seconds(b.create_wall_ms),
      b.creates_per_minute.toFixed(1),
      seconds(b.destroy_wall_ms),
      `${Math.round(b.cpu_per_create_ms.server)} ms`,
      `${Math.round(b.cpu_per_create_ms.rsync_ssh_children)} ms`,
      `${Math.round(b.cpu_per_destroy_ms.server)} ms`,
    ]),
  );
}

export function cliTable(cli) {
  const ms = (s) => range(s, (v) => `${Math.round(v)} ms`);
  return table(
    ['command', 'sand-boxer', '`node -e ""`', 'ratio', 'peak RSS', 'CPU'],
    [
      [
        '`--version`',
        ms(cli.startup.sandboxer_version),
        ms(cli.startup.node_e),
        ratio(cli.startup.ratio),
        `${cli.memory_mb.version.toFixed(0)} MB`,
        `${Math.round(cli.cpu_ms?.version)} ms`,
      ],
      [
        `\`list --json\`, ${cli.records} sandboxes`,
        ms(cli.list.sandboxer_list_json),
        ms(cli.list.node_e),
        ratio(cli.list.ratio),
        `${cli.memory_mb.list_1000.toFixed(0)} MB`,
        `${Math.round(cli.cpu_ms?.list_1000)} ms`,
      ],
      // The same start-up, to a create's first check, from the CLI and from the action's bundle.
      ...(cli.first_check
        ? [
            ['`create`, to its first check (an unknown profile)', cli.first_check.cli_create],
            ["the action's main step, the same", cli.first_check.action_main],
          ].map(([label, run]) => [
            label,
            ms(run),
            ms(cli.startup.node_e),
            ratio(run.median / cli.startup.node_e.median),
            '',
            '',
          ])
        : []),
      [
        '`node -e ""` itself',
        '',
        ms(cli.startup.node_e),
        '',
        `${cli.memory_mb.node_e.toFixed(0)} MB`,
        `${Math.round(cli.cpu_ms?.node_e)} ms`,
      ],
    ],
  );
}

export function targetsTable(list) {
  return table(
    ['target', 'today', 'status'],
    list.map((t) => [t.target, t.figure, t.status === 'met' ? '**met**' : t.status]),
  );
}
