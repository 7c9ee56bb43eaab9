import type { SandboxRecord } from '@sand-boxer/core';
import { describeTimings, formatDuration, lastRenewal, leaseDeadline } from '@sand-boxer/core/records';

/** Options every command accepts. */
export interface OutputOptions {
  json?: boolean;
  quiet?: boolean;
  verbose?: boolean;
}

/** One JSON document on stdout: the only thing `--json` ever prints there. */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

export function printLine(text = ''): void {
  process.stdout.write(`${text}\n`);
}

/**
 * Progress goes to stderr so stdout stays parseable: shown on a terminal, quiet when piped,
 * forced with --verbose, silenced with --quiet.
 */
export function progressReporter(options: OutputOptions): ((message: string) => void) | undefined {
  if (options.quiet) return undefined;
  if (!options.verbose && !process.stderr.isTTY) return undefined;
  const started = Date.now();
  return (message) => {
    const seconds = ((Date.now() - started) / 1000).toFixed(1).padStart(5);
    process.stderr.write(`[${seconds}s] ${message}\n`);
  };
}

/** Plain aligned columns; no colour so output is the same in logs and terminals. */
export function formatTable(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

/** `in 29m`, `3m ago`: short relative times for tables. */
export function relativeTime(iso: string, now = Date.now()): string {
  const seconds = Math.round((new Date(iso).getTime() - now) / 1000);
  const abs = Math.abs(seconds);
  if (abs < 1) return 'now';
  const text =
    abs < 60
      ? `${abs}s`
      : abs < 3600
        ? `${Math.floor(abs / 60)}m`
        : abs < 86_400
          ? `${Math.floor(abs / 3600)}h`
          : `${Math.floor(abs / 86_400)}d`;
  return seconds >= 0 ? `in ${text}` : `${text} ago`;
}

/** The human summary of one sandbox (create, status, destroy). */
export function describeSandbox(record: SandboxRecord): string {
  const rows: Array<[string, string]> = [
    ['sandbox', record.id],
    ['state', record.state],
    ['profile', `${record.profile} (${record.extension})`],
    ['host', record.host],
    ['consumer', record.account ? `${record.consumer} (account ${record.account})` : record.consumer],
    ['created', record.created_at],
  ];
  if (record.timings) rows.push(['timings', describeTimings(record.timings)]);
  // An ended sandbox no longer expires: its end is shown instead.
  const ended = record.state === 'destroyed' || record.state === 'failed';
  if (!ended) rows.push(['expires', `${record.expires_at} (${relativeTime(record.expires_at)})`]);
  if (record.lease_seconds !== undefined && !ended) {
    const keeper = record.keeper ? `renewed by keeper pid ${record.keeper.pid}` : 'no keeper recorded';
    rows.push([
      'lease',
      `${formatDuration(record.lease_seconds)}: torn down when not renewed for that long (${keeper})`,
    ]);
    const renewed = lastRenewal(record)?.toISOString() ?? '';
    const deadline = leaseDeadline(record)?.toISOString() ?? '';
    rows.push(['renewed', `${renewed} (${relativeTime(renewed)})`]);
    rows.push(['deadline', `${deadline} (${relativeTime(deadline)}) unless renewed before`]);
  }
  if (record.destroyed_at) rows.push(['ended', record.destroyed_at]);
  if (record.estimate) rows.push(['estimate', `${record.estimate.credits} credits (held while it lives)`]);
  if (record.cost)
    rows.push(['cost', `${record.cost.credits} credits for ${Math.round(record.cost.duration)} s`]);
  for (const skipped of record.routing ?? []) {
    rows.push(['skipped', `${skipped.extension} on ${skipped.host}: ${skipped.reasons.join('; ')}`]);
  }
  for (const [key, value] of Object.entries(record.reachability ?? {})) {
    if (key === 'host' && value === record.host) continue;
    rows.push([key, typeof value === 'string' ? value : JSON.stringify(value)]);
  }
  if (record.error) rows.push(['error', `${record.error.step}: ${record.error.message}`]);
  if (record.cleanup?.leftovers.length) rows.push(['leftovers', record.cleanup.leftovers.join(', ')]);
  const width = Math.max(...rows.map(([key]) => key.length)) + 2;
  return rows.map(([key, value]) => `${key.padEnd(width)}${value}`).join('\n');
}
