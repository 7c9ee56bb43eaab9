import { type ContextOptions, openManager } from '../context.js';
import { describeSandbox, type OutputOptions, printJson, printLine, progressReporter } from '../output.js';

/** `sandboxer destroy <id>`: tears the sandbox down; destroying twice is fine. */
export async function destroy(id: string, options: OutputOptions & ContextOptions): Promise<void> {
  const manager = openManager(options);
  const record = await manager.destroy(id, { progress: progressReporter(options) });
  if (options.json) return printJson(record);
  printLine(describeSandbox(record));
}
