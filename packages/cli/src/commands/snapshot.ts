import type { SnapshotRecord } from '@sand-boxer/core';
import { type ContextOptions, openService } from '../context.js';
import {
  formatTable,
  type OutputOptions,
  printJson,
  printLine,
  progressReporter,
  relativeTime,
} from '../output.js';
import { onInterrupt } from '../signals.js';

type Options = OutputOptions & ContextOptions;

/** `sandboxer snapshot create <sandbox> [--name N] [--pull]`: a consistent checkpoint of a ready sandbox. */
export async function snapshotCreate(sandbox: string, options: Options & { name?: string; pull?: boolean }) {
  const manager = await openService(options);
  const controller = new AbortController();
  const stopListening = onInterrupt(() => controller.abort());
  let record: SnapshotRecord;
  try {
    record = await manager.snapshots.create(sandbox, {
      ...(options.name !== undefined ? { name: options.name } : {}),
      ...(options.pull ? { pull: true } : {}),
      progress: progressReporter(options),
      signal: controller.signal,
    });
  } finally {
    stopListening();
  }
  if (options.json) return printJson(record);
  printLine(describeSnapshot(record));
  printLine(`\nrestore it with: sandboxer restore ${record.id}   (or --in-place, or --host <other host>)`);
}

/** `sandboxer snapshot list [--all]`. */
export async function snapshotList(options: Options & { all?: boolean }) {
  const records = await (await openService(options)).snapshots.list({ all: options.all });
  if (options.json) return printJson(records);
  if (records.length === 0) {
    printLine(
      options.all ? 'no snapshots' : 'no snapshots (`sandboxer snapshot list --all` shows deleted ones)',
    );
    return;
  }
  const now = Date.now();
  const rows = records.map((r) => [
    r.id,
    r.name ?? '-',
    r.status,
    r.sandbox_id,
    r.profile,
    r.size_bytes === undefined ? '-' : formatBytes(r.size_bytes),
    r.locations.map((l) => (l.kind === 'local' ? 'local' : l.host)).join(',') || '-',
    relativeTime(r.created_at, now),
  ]);
  printLine(formatTable(['ID', 'NAME', 'STATUS', 'SANDBOX', 'PROFILE', 'SIZE', 'KEPT ON', 'CREATED'], rows));
}

/** `sandboxer snapshot show <snapshot>`: by id or name. */
export async function snapshotShow(ref: string, options: Options) {
  const record = await (await openService(options)).snapshots.get(ref);
  if (options.json) return printJson(record);
  printLine(describeSnapshot(record));
}

/** `sandboxer snapshot pull <snapshot>`: copy the artifact into the local store (to restore it anywhere). */
export async function snapshotPull(ref: string, options: Options) {
  const record = await (await openService(options)).snapshots.pull(ref, {
    progress: progressReporter(options),
  });
  if (options.json) return printJson(record);
  printLine(describeSnapshot(record));
}

/** `sandboxer snapshot delete <snapshot>`: removes every copy of the artifact, then the snapshot. */
export async function snapshotDelete(ref: string, options: Options) {
  const record = await (await openService(options)).snapshots.delete(ref, {
    progress: progressReporter(options),
  });
  if (options.json) return printJson(record);
  printLine(`snapshot ${record.id} deleted`);
}

export function describeSnapshot(s: SnapshotRecord): string {
  const rows: Array<[string, string]> = [
    ['snapshot', s.name ? `${s.id} (${s.name})` : s.id],
    ['status', s.status],
    ['sandbox', s.sandbox_id],
    ['profile', `${s.profile} (${s.extension})`],
    ['host', s.host],
    ['created', s.created_at],
  ];
  if (s.size_bytes !== undefined) rows.push(['size', formatBytes(s.size_bytes)]);
  if (s.sha256) rows.push(['sha256', s.sha256]);
  if (s.contents) {
    const volumes = s.contents.volumes.map((v) => `${v.key} (${v.service}:${v.path})`);
    rows.push(['contains', [s.contents.workspace ? 'workspace' : '', ...volumes].filter(Boolean).join(', ')]);
  }
  if (s.consistency) {
    rows.push([
      'consistency',
      s.consistency === 'none'
        ? 'nothing to hold still'
        : `services ${s.consistency === 'pause' ? 'paused' : 'stopped'} for ${s.paused_ms} ms`,
    ]);
  }
  for (const l of s.locations)
    rows.push(['kept', l.kind === 'local' ? `${l.path} (this machine)` : `${l.path} on ${l.host}`]);
  if (s.cost) rows.push(['cost', `${s.cost.credits} credits`]);
  if (s.error) rows.push(['error', s.error.message]);
  const width = Math.max(...rows.map(([key]) => key.length)) + 2;
  return rows.map(([key, value]) => `${key.padEnd(width)}${value}`).join('\n');
}

function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value.toFixed(1)} ${units[unit]}`;
}
