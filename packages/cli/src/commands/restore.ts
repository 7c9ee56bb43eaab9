import type { SandboxRecord } from '@sand-boxer/core';
import { type ContextOptions, openService } from '../context.js';
import { describeSandbox, type OutputOptions, printJson, printLine, progressReporter } from '../output.js';
import { onInterrupt } from '../signals.js';
import { parseInputFlags } from './create.js';

export interface RestoreCliOptions extends OutputOptions, ContextOptions {
  inPlace?: boolean;
  host?: string;
  sandbox?: string;
  input: string[];
  ttl?: string;
  consumer?: string;
  account?: string;
}

/**
 * `sandboxer restore <snapshot>`: a new sandbox from the snapshot (on its host, or `--host`), or
 * `--in-place` over the sandbox it was taken from (or `--sandbox`).
 */
export async function restore(ref: string, options: RestoreCliOptions): Promise<void> {
  const manager = await openService(options);
  const controller = new AbortController();
  const stopListening = onInterrupt(() => controller.abort());
  let record: SandboxRecord;
  try {
    record = await manager.snapshots.restore(ref, {
      mode: options.inPlace ? 'in-place' : 'new',
      ...(options.host ? { host: options.host } : {}),
      ...(options.sandbox ? { sandbox: options.sandbox } : {}),
      inputs: parseInputFlags(options.input),
      ...(options.ttl ? { ttl: options.ttl } : {}),
      ...(options.consumer ? { consumer: options.consumer } : {}),
      ...(options.account ? { account: options.account } : {}),
      progress: progressReporter(options),
      signal: controller.signal,
    });
  } finally {
    stopListening();
  }
  if (options.json) return printJson(record);
  printLine(describeSandbox(record));
  if (!options.inPlace) printLine(`\ndestroy it with: sandboxer destroy ${record.id}`);
}
