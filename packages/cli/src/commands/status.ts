import { type ContextOptions, openManager } from '../context.js';
import { describeSandbox, type OutputOptions, printJson, printLine } from '../output.js';

/** `sandboxer status <id>`: one sandbox's record, in any state. */
export async function status(id: string, options: OutputOptions & ContextOptions): Promise<void> {
  const manager = openManager(options);
  const record = await manager.get(id);
  if (options.json) return printJson(record);
  printLine(describeSandbox(record));
}
