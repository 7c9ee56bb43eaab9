import { InputError, type SandboxRecord } from '@sand-boxer/core';
import { type ContextOptions, openService } from '../context.js';
import { describeSandbox, type OutputOptions, printJson, printLine, progressReporter } from '../output.js';
import { resolveProfileFlag } from '../profile-path.js';
import { onInterrupt } from '../signals.js';

export interface CreateOptions extends OutputOptions, ContextOptions {
  profile: string;
  input: string[];
  consumer?: string;
  host?: string;
  ttl?: string;
  account?: string;
  waitFor: string[];
}

/** `sandboxer create`: provisions a sandbox and waits until it is ready; Ctrl-C rolls it back. */
export async function create(given: CreateOptions): Promise<void> {
  const options = resolveProfileFlag(given);
  const manager = await openService(options);
  const controller = new AbortController();
  const stopListening = onInterrupt(() => controller.abort());
  let record: SandboxRecord;
  try {
    record = await manager.create(
      {
        profile: options.profile,
        inputs: parseInputFlags(options.input),
        consumer: options.consumer,
        host: options.host,
        ttl: options.ttl,
        account: options.account,
        ...(options.waitFor.length > 0 ? { waitFor: options.waitFor } : {}),
      },
      { progress: progressReporter(options), signal: controller.signal },
    );
  } finally {
    stopListening();
  }
  if (options.json) return printJson(record);
  printLine(describeSandbox(record));
  printLine(`\ndestroy it with: sandboxer destroy ${record.id}`);
}

/** `--input k=v` flags to a map; the value may itself contain `=`. */
export function parseInputFlags(flags: string[]): Record<string, string> {
  const inputs: Record<string, string> = {};
  for (const flag of flags) {
    const eq = flag.indexOf('=');
    const key = eq > 0 ? flag.slice(0, eq) : '';
    if (!/^[a-z][a-z0-9_]*$/.test(key)) {
      throw new InputError(
        `--input ${JSON.stringify(flag)}: expected key=value with a key like "repo" or "compose_files"`,
        {
          input: flag,
        },
      );
    }
    // Two values for one input would silently keep the last: refuse, naming both.
    if (Object.hasOwn(inputs, key)) {
      throw new InputError(
        `--input ${key} given twice (${JSON.stringify(inputs[key])} and ${JSON.stringify(flag.slice(eq + 1))}): give it once`,
        { input: key },
      );
    }
    inputs[key] = flag.slice(eq + 1);
  }
  return inputs;
}
