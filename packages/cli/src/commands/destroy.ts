import type { ContextOptions } from '../context.js';
import { openManager } from '../context.js';
import { describeSandbox, type OutputOptions, printJson, printLine, progressReporter } from '../output.js';
import { adoptRecordFlag, type RecordFlag } from '../record-flags.js';

/** `sandboxer destroy <id> [--record <file|json>]`: tears the sandbox down; destroying twice is fine. */
export async function destroy(
  id: string,
  options: OutputOptions & ContextOptions & RecordFlag,
): Promise<void> {
  const manager = openManager(options);
  await adoptRecordFlag(manager, id, options);
  const record = await manager.destroy(id, { progress: progressReporter(options) });
  if (options.json) return printJson(record);
  printLine(describeSandbox(record));
}
