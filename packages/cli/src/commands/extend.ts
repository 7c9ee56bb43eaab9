import { type ContextOptions, openService } from '../context.js';
import { describeSandbox, type OutputOptions, printJson, printLine } from '../output.js';

/** `sandboxer extend <id> --ttl <duration>`: the sandbox now expires that long from now. */
export async function extend(
  id: string,
  options: OutputOptions & ContextOptions & { ttl: string },
): Promise<void> {
  const record = await (await openService(options)).extend(id, options.ttl);
  if (options.json) return printJson(record);
  printLine(describeSandbox(record));
}
