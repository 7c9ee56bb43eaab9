import { readFileSync } from 'node:fs';
import { InputError, parseSandboxId, type SandboxRecord } from '@sand-boxer/core';
import { type ContextOptions, openManager } from '../context.js';
import { describeSandbox, type OutputOptions, printJson, printLine, progressReporter } from '../output.js';

/** `sandboxer destroy <id> [--record <file|json>]`: tears the sandbox down; destroying twice is fine. */
export async function destroy(
  id: string,
  options: OutputOptions & ContextOptions & { record?: string },
): Promise<void> {
  const manager = openManager(options);
  if (options.record !== undefined) {
    const record = readRecord(options.record);
    if (record.id !== parseSandboxId(id)) {
      throw new InputError(`--record is for sandbox ${record.id}, not ${id}`);
    }
    await manager.adopt(record);
  }
  const record = await manager.destroy(id, { progress: progressReporter(options) });
  if (options.json) return printJson(record);
  printLine(describeSandbox(record));
}

/** A record given inline as JSON or as a file path. */
function readRecord(text: string): SandboxRecord {
  try {
    return JSON.parse(text.trimStart().startsWith('{') ? text : readFileSync(text, 'utf8')) as SandboxRecord;
  } catch (error) {
    throw new InputError(
      `--record: expected a sandbox record as JSON or a file holding one (${(error as Error).message})`,
    );
  }
}
