import { getRecord } from '@sand-boxer/core/records';
import type { ContextOptions } from '../context.js';
import { describeSandbox, type OutputOptions, printJson, printLine } from '../output.js';
import { openRecords, serverOf } from '../records.js';

/** `sandboxer status <id>`: one sandbox's record, in any state. */
export async function status(id: string, options: OutputOptions & ContextOptions): Promise<void> {
  // The same answer as manager.get(), without loading the manager (see records.ts).
  const record = options.server
    ? await (await serverOf(options)).get(id)
    : await getRecord(await openRecords(options), id);
  if (options.json) return printJson(record);
  printLine(describeSandbox(record));
}
