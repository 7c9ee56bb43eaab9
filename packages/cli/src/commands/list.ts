import { listRecords } from '@sand-boxer/core/records';
import type { ContextOptions } from '../context.js';
import { formatTable, type OutputOptions, printJson, printLine, relativeTime } from '../output.js';
import { openRecords, serverOf } from '../records.js';

/** `sandboxer list [--all]`: live sandboxes, or every one the store remembers. */
export async function list(options: OutputOptions & ContextOptions & { all?: boolean }): Promise<void> {
  // The same answer as manager.list(), without loading the manager (see records.ts).
  const records = options.server
    ? await (await serverOf(options)).list({ all: options.all })
    : await listRecords(await openRecords(options), { all: options.all });
  if (options.json) return printJson(records);
  if (records.length === 0) {
    printLine(options.all ? 'no sandboxes' : 'no live sandboxes (`sandboxer list --all` shows ended ones)');
    return;
  }
  const now = Date.now();
  const rows = records.map((r) => [
    r.id,
    r.state,
    r.profile,
    r.host,
    relativeTime(r.created_at, now),
    r.state === 'destroyed' || r.state === 'failed' ? '-' : relativeTime(r.expires_at, now),
  ]);
  printLine(formatTable(['ID', 'STATE', 'PROFILE', 'HOST', 'CREATED', 'EXPIRES'], rows));
}
