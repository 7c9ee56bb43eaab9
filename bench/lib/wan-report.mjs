// Turns the WAN benchmark's summaries into the figures docs/performance.md shows: ratio against RTT
// per scenario, round trips per create and destroy, the critical path in round trips (slope of
// time against RTT), the phases at each RTT, and issue 22's WAN targets.
import { PHASES, table } from './compose-report.mjs';
import { ratio, seconds } from './stats.mjs';

const TOOLS = ['sandboxer', 'baseline'];
const NAMES = { sandboxer: 'sand-boxer', baseline: 'baseline' };
const TITLES = { small_cold: 'small cold', large_warm: 'large warm' };
/** What each scenario's target compares: the whole pair (small cold) or the create (warm re-create). */
const MEASURE = { small_cold: 'total', large_warm: 'create' };
const TARGETS = { small_cold: 0.6, large_warm: 0.15 };
const TARGET_RTT = 50;

/** Least-squares slope of y (ms) against x (ms): extra ms per ms of RTT = round trips. */
function slope(points) {
  const ok = points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
  if (ok.length < 2) return Number.NaN;
  const mx = ok.reduce((a, [x]) => a + x, 0) / ok.length;
  const my = ok.reduce((a, [, y]) => a + y, 0) / ok.length;
  const num = ok.reduce((a, [x, y]) => a + (x - mx) * (y - my), 0);
  const den = ok.reduce((a, [x]) => a + (x - mx) ** 2, 0);
  return den > 0 ? num / den : Number.NaN;
}

/**
 * Medians of each phase of the create's own `timings` (timestamps accepted → connected → synced → up
 * → ready, when the CLI reports them), as milliseconds since the phase before.
 */
function recordTimings(runs) {
  const withTimings = runs.filter((r) => r.ok && r.record_timings && typeof r.record_timings === 'object');
  if (withTimings.length === 0) return undefined;
  const phases = Object.keys(withTimings[0].record_timings);
  const med = (values) => {
    const s = values.filter(Number.isFinite).sort((a, b) => a - b);
    return s.length ? s[Math.floor((s.length - 1) / 2)] : Number.NaN;
  };
  const since = (timings, i) => Date.parse(timings[phases[i]]) - Date.parse(timings[phases[i - 1]]);
  return Object.fromEntries(
    phases
      .slice(1)
      .map((phase, i) => [`${phase}_ms`, med(withTimings.map((r) => since(r.record_timings, i + 1)))]),
  );
}

/**
 * @param {{ by_rtt: { rtt_ms: number, scenarios: Record<string, any> }[] }} out
 * @returns {{ curve: object[], round_trips: object, critical_path_round_trips: object, targets: object[],
 *   record_timings?: object }}
 */
export function wanSummary(out) {
  const keys = Object.keys(out.by_rtt[0]?.scenarios ?? {});
  const curve = out.by_rtt.map(({ rtt_ms, scenarios }) => ({
    rtt_ms,
    ...Object.fromEntries(
      keys.map((key) => {
        const sc = scenarios[key];
        return [
          key,
          {
            sandboxer_total_ms: sc.sandboxer.phases.total.median,
            baseline_total_ms: sc.baseline.phases.total.median,
            sandboxer_create_ms: sc.sandboxer.create_ms.median,
            baseline_create_ms: sc.baseline.create_ms.median,
            ratio_total: sc.ratios.total,
            ratio_create: sc.ratios.create,
          },
        ];
      }),
    ),
  }));
  // Counts hardly move with RTT (only the number of readiness polls does); take them at the RTT of
  // the targets, else the middle one.
  const at = out.by_rtt.find((r) => r.rtt_ms === TARGET_RTT) ?? out.by_rtt[Math.floor(out.by_rtt.length / 2)];
  const round_trips = { rtt_ms: at?.rtt_ms };
  for (const key of keys) {
    round_trips[key] = {};
    for (const tool of TOOLS) {
      const s = at.scenarios[key][tool];
      round_trips[key][tool] = {
        create: {
          connections: s.connections_create.median,
          commands: s.sessions_create.median,
          turns: s.turns_create.median,
          waits: s.waits_create.median,
        },
        destroy: {
          connections: s.connections_destroy.median,
          commands: s.sessions_destroy.median,
          turns: s.turns_destroy.median,
          waits: s.waits_destroy.median,
        },
      };
    }
  }
  const critical = {};
  for (const key of keys) {
    critical[key] = {};
    for (const tool of TOOLS) {
      const points = (pick) => out.by_rtt.map((r) => [r.rtt_ms, pick(r.scenarios[key][tool])]);
      critical[key][tool] = {
        create: slope(points((s) => s.create_ms.median)),
        destroy: slope(points((s) => s.phases.down.median)),
      };
    }
  }
  const targets = keys.map((key) => {
    const row = curve.find((c) => c.rtt_ms === TARGET_RTT)?.[key];
    const measure = MEASURE[key];
    const value = row ? (measure === 'total' ? row.ratio_total : row.ratio_create) : Number.NaN;
    const [s, b] = row
      ? measure === 'total'
        ? [row.sandboxer_total_ms, row.baseline_total_ms]
        : [row.sandboxer_create_ms, row.baseline_create_ms]
      : [];
    return {
      target: `${TITLES[key]} ${measure === 'total' ? 'create+destroy' : 're-create'} at ${TARGET_RTT} ms RTT ≤ ${TARGETS[key]}× baseline`,
      value,
      limit: TARGETS[key],
      status: Number.isFinite(value) ? (value <= TARGETS[key] ? 'met' : 'not met') : 'not measured',
      figure: row ? `${ratio(value)} (${seconds(s)} vs ${seconds(b)})` : 'n/a',
    };
  });
  const timings = Object.fromEntries(
    out.by_rtt.flatMap((r) =>
      keys
        .map((key) => [`${r.rtt_ms}ms_${key}`, recordTimings(r.scenarios[key].raw.sandboxer)])
        .filter(([, v]) => v),
    ),
  );
  return {
    curve,
    round_trips,
    critical_path_round_trips: critical,
    targets,
    ...(Object.keys(timings).length ? { record_timings: timings } : {}),
  };
}

/** Ratio against RTT: one row per RTT, both scenarios. */
export function curveTable(out) {
  const keys = Object.keys(out.by_rtt[0]?.scenarios ?? {});
  const header = ['RTT'];
  for (const key of keys) {
    const what = MEASURE[key] === 'total' ? 'create+destroy' : 're-create';
    header.push(`${TITLES[key]}: sand-boxer`, 'baseline', `ratio (${what})`);
    if (key === 'large_warm') header.push('ratio (create+destroy)');
  }
  const rows = out.by_rtt.map(({ rtt_ms, scenarios }) => {
    const row = [`${rtt_ms} ms`];
    for (const key of keys) {
      const sc = scenarios[key];
      const measure = MEASURE[key];
      row.push(
        range(measure === 'total' ? sc.sandboxer.phases.total : sc.sandboxer.create_ms),
        range(measure === 'total' ? sc.baseline.phases.total : sc.baseline.create_ms),
        ratio(measure === 'total' ? sc.ratios.total : sc.ratios.create),
      );
      if (key === 'large_warm') row.push(ratio(sc.ratios.total));
    }
    return row;
  });
  return table(header, rows);
}

const range = (s) =>
  s.n > 1
    ? `${seconds(s.median)} (${(s.min / 1000).toFixed(2)}–${(s.max / 1000).toFixed(2)})`
    : seconds(s.median);

/** Round trips per create and per destroy, by tool and scenario. */
export function roundTripTable(out) {
  const rows = [];
  for (const key of Object.keys(out.round_trips).filter((k) => k !== 'rtt_ms')) {
    for (const tool of TOOLS) {
      for (const op of ['create', 'destroy']) {
        const c = out.round_trips[key][tool][op];
        const crit = out.critical_path_round_trips[key][tool][op];
        rows.push([
          `${TITLES[key]}, ${NAMES[tool]}, ${op}`,
          String(c.connections),
          String(c.commands),
          String(c.turns),
          String(c.waits),
          Number.isFinite(crit) ? crit.toFixed(1) : 'n/a',
        ]);
      }
    }
  }
  return table(
    [
      `at ${out.round_trips.rtt_ms} ms RTT (medians)`,
      'TCP+SSH handshakes',
      'commands (session channels)',
      'turns',
      'waits (≥ 0.9 RTT idle)',
      'round trips on the critical path (slope)',
    ],
    rows,
  );
}

/** sand-boxer's and the baseline's phases at each RTT, one table per scenario. */
export function phaseTable(out, key) {
  const rows = out.by_rtt.map(({ rtt_ms, scenarios }) => {
    const sc = scenarios[key];
    return [
      `${rtt_ms} ms`,
      ...PHASES.map(
        (p) => `${seconds(sc.sandboxer.phases[p].median)} / ${seconds(sc.baseline.phases[p].median)}`,
      ),
    ];
  });
  return table(['RTT (sand-boxer / baseline)', ...PHASES], rows);
}

export function wanPrint(out, log) {
  log('\nWAN: sand-boxer vs the baseline by RTT (medians, min–max)\n');
  log(curveTable(out));
  for (const key of Object.keys(out.by_rtt[0]?.scenarios ?? {})) {
    log(`\n${TITLES[key]}: phases by RTT\n`);
    log(phaseTable(out, key));
  }
  log('\nround trips per operation\n');
  log(roundTripTable(out));
  if (out.record_timings)
    log(`\nthe create's own timings (medians)\n\n${JSON.stringify(out.record_timings)}`);
  log(
    `\ntargets (reported, not enforced)\n\n${table(
      ['target', 'today', 'status'],
      out.targets.map((t) => [t.target, t.figure, t.status === 'met' ? '**met**' : t.status]),
    )}`,
  );
  const load = (l) => l.map((v) => v.toFixed(1)).join(' ');
  log(`\nload average at start ${load(out.machine.loadavg_start)}, at end ${load(out.machine.loadavg_end)}`);
}
