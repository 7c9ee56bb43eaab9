import { type ContextOptions, openManager } from '../context.js';
import { formatTable, type OutputOptions, printJson, printLine } from '../output.js';

/** `sandboxer extensions`: the backends available, with their capabilities. */
export async function extensions(options: OutputOptions & ContextOptions): Promise<void> {
  const catalog = await openManager(options).catalog();
  const all = catalog.extensions().map((e) => ({ ...e, source: catalog.sourceOf(e.id) }));
  if (options.json) return printJson(all);
  const rows = all.map((e) => [
    e.id,
    e.capabilities.pricing_model,
    e.capabilities.isolation_levels.join(','),
    e.capabilities.snapshot ? 'yes' : 'no',
    e.title,
  ]);
  printLine(formatTable(['EXTENSION', 'PRICING', 'ISOLATION', 'SNAPSHOT', 'TITLE'], rows));
}
