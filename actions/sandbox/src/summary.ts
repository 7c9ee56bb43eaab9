import { describeTimings, type SandboxRecord } from '@sand-boxer/core';

/** Seconds between two ISO times, as `1.2 s`, or `-` when either is missing. */
function between(from: string | undefined, to: string | undefined): string {
  if (!from || !to) return '-';
  return `${((Date.parse(to) - Date.parse(from)) / 1000).toFixed(1)} s`;
}

/** The rows of the job summary table: what the sandbox was, where, how long each phase took, its cost. */
export function summaryRows(
  record: SandboxRecord,
  teardownSeconds: number | undefined,
  outcome: string,
): string[][] {
  return [
    ['sandbox', record.id],
    ['profile', `${record.profile} (${record.extension})`],
    [
      'host',
      record.target && 'pool' in record.target
        ? `${record.host} (pool ${String(record.target.pool)})`
        : record.host,
    ],
    ...(record.routing?.length
      ? [['skipped', record.routing.map((r) => `${r.host}: ${r.reasons.join('; ')}`).join('<br>')]]
      : []),
    ['consumer', record.consumer],
    ['outcome', outcome],
    // accepted → connected → synced → up → ready, each phase's own time (records/timings.ts).
    ...(record.timings
      ? [['time to ready', describeTimings(record.timings)]]
      : [
          ['provision', between(record.created_at, record.provisioned_at)],
          ['wait ready', between(record.provisioned_at, record.ready_at)],
        ]),
    ['teardown', teardownSeconds === undefined ? '-' : `${teardownSeconds.toFixed(1)} s`],
    ['credits used', record.cost ? String(record.cost.credits) : '0'],
  ];
}
