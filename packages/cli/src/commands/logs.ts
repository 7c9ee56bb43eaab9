import { InputError, logLines } from '@sand-boxer/core';
import { type ContextOptions, openManager } from '../context.js';
import { type OutputOptions, printJson } from '../output.js';
import { adoptRecordFlag, type RecordFlag } from '../record-flags.js';
import { abortOnInterrupt } from '../signals.js';

export interface LogsOptions extends OutputOptions, ContextOptions, RecordFlag {
  follow?: boolean;
  tail: string;
  since?: string;
}

/**
 * `sandboxer logs <id> [service…] [--follow] [--tail N] [--since D]`: each service's log, every line
 * prefixed with its service; `--follow` keeps streaming until Ctrl-C. `--json`: `[{service, text}]`,
 * or with `--follow` one `{service, text}` per line as it comes.
 */
export async function logs(id: string, services: string[], options: LogsOptions): Promise<void> {
  const lines = Number(options.tail);
  if (!Number.isInteger(lines) || lines < 0 || lines > 100_000) {
    throw new InputError(
      `--tail: expected a number of lines from 0 to 100000, got ${JSON.stringify(options.tail)}`,
    );
  }
  const manager = openManager(options);
  await adoptRecordFlag(manager, id, options);
  const interrupt = abortOnInterrupt();
  const collected: Array<{ service: string; text: string }> = [];
  const text = logLines((line) => process.stdout.write(line));
  const write = (service: string, chunk: string) => {
    if (options.json && !options.follow) collected.push({ service, text: chunk });
    else if (options.json) process.stdout.write(`${JSON.stringify({ service, text: chunk })}\n`);
    else {
      text.write(service, chunk);
      // A tail comes whole: its last line is complete even without a newline.
      if (!options.follow) text.flush();
    }
  };
  try {
    const shown = await manager.logs(id, {
      lines,
      maxBytes: 1024 * 1024,
      ...(services.length > 0 ? { services } : {}),
      ...(options.since ? { since: options.since } : {}),
      ...(options.follow ? { follow: true, signal: interrupt.signal } : {}),
      write,
    });
    if (!shown) process.stderr.write(`sandboxer: sandbox ${id} has no service logs to show\n`);
  } finally {
    text.flush();
    interrupt.release();
  }
  if (options.json && !options.follow) printJson(collected);
}
