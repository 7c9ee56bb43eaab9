// The snapshot benchmark's figures as Markdown tables (terminal and docs/performance.md), and issue
// 22's two snapshot targets.
import { table } from './compose-report.mjs';
import { bytes, range, ratio, seconds } from './stats.mjs';

/** Snapshot ≤ 4 s per GiB; restore-to-ready ≤ the same stack's cold create. */
export function snapshotTargets(out) {
  const s = out.summary;
  const status = (value, limit) =>
    Number.isFinite(value) ? (value <= limit ? 'met' : 'not met') : 'not measured';
  return [
    {
      target: 'snapshot ≤ 4 s per GiB (E2B’s pause rate)',
      value: s.snapshot_s_per_gib,
      limit: 4,
      status: status(s.snapshot_s_per_gib, 4),
      figure: `${s.snapshot_s_per_gib.toFixed(2)} s/GiB (${seconds(s.snapshot_ms.median)} for ${bytes(s.size_bytes.median)}; services paused ${Math.round(s.paused_ms.median)} ms)`,
    },
    {
      target: 'restore-to-ready ≤ the same stack’s cold create',
      value: s.restore_vs_cold_create,
      limit: 1,
      status: status(s.restore_vs_cold_create, 1),
      figure: `${ratio(s.restore_vs_cold_create)} (${seconds(s.restore_ms.median)} vs ${seconds(s.cold_create_ms.median)}; vs create + writing the data: ${ratio(s.restore_vs_create_and_seed)})`,
    },
  ];
}

export function snapshotTable(out) {
  const s = out.summary;
  return table(
    ['step', 'time (median, min–max)', 'bytes'],
    [
      ['cold create of the stack (empty volume)', range(s.cold_create_ms), ''],
      [`writing ${out.settings.mib} MiB into the volume (exec dd)`, range(s.seed_ms), ''],
      [
        '`snapshot create`',
        range(s.snapshot_ms),
        `artifact ${bytes(s.size_bytes.median)} on the host; ${bytes(s.snapshot_net_bytes.median)} over SSH`,
      ],
      ['  of which services paused', range(s.paused_ms, (v) => `${Math.round(v)} ms`), ''],
      [
        '`restore` (new sandbox, to ready)',
        range(s.restore_ms),
        `${bytes(s.restore_net_bytes.median)} over SSH`,
      ],
    ],
  );
}

export function passesTable(passes) {
  return table(
    ['pass over the data, alone on the host', 'time'],
    Object.entries(passes).map(([name, ms]) => [name.replaceAll('_', ' '), seconds(ms)]),
  );
}

export function snapshotPrint(out, log) {
  log(`\nsnapshot and restore, ${out.settings.mib} MiB of volume data\n`);
  log(snapshotTable(out));
  if (out.passes_ms) log(`\nwhere the time goes\n\n${passesTable(out.passes_ms)}`);
  log(
    `\ntargets (reported, not enforced)\n\n${table(
      ['target', 'today', 'status'],
      out.targets.map((t) => [t.target, t.figure, t.status === 'met' ? '**met**' : t.status]),
    )}`,
  );
}
