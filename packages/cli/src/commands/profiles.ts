import { formatDuration } from '@sand-boxer/core';
import { type ContextOptions, openManager } from '../context.js';
import { formatTable, type OutputOptions, printJson, printLine } from '../output.js';

/** `sandboxer profiles`: what can be created, and from which file each profile came. */
export async function profiles(options: OutputOptions & ContextOptions): Promise<void> {
  const catalog = await openManager(options).catalog();
  const all = catalog.profiles().map((p) => ({ ...p, source: catalog.sourceOf(p.id) }));
  if (options.json) return printJson(all);
  const rows = all.map((p) => [
    p.id,
    p.extension,
    formatDuration(p.ttl),
    p.inputs.required.join(',') || '-',
    p.description,
  ]);
  printLine(formatTable(['PROFILE', 'EXTENSION', 'TTL', 'REQUIRED INPUTS', 'DESCRIPTION'], rows));
}
