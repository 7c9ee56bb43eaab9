import { type ContextOptions, openManager, openService } from '../context.js';
import { describeSandbox, type OutputOptions, printJson, printLine, progressReporter } from '../output.js';
import { adoptRecordFlag, type RecordFlag } from '../record-flags.js';

/** `sandboxer destroy <id> [--record <file|json>]`: tears the sandbox down; destroying twice is fine. */
export async function destroy(
  id: string,
  options: OutputOptions & ContextOptions & RecordFlag,
): Promise<void> {
  // A record from elsewhere is taken over by this machine's manager; the server has its own records.
  const service = options.record === undefined ? await openService(options) : openManager(options);
  if (options.record !== undefined) await adoptRecordFlag(openManager(options), id, options);
  const record = await service.destroy(id, { progress: progressReporter(options) });
  if (options.json) return printJson(record);
  printLine(describeSandbox(record));
}
