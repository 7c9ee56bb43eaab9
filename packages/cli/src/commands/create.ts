import { hostname } from 'node:os';
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
  /** `--lease 60s`: the sandbox goes when not renewed for that long; a detached keeper renews it. */
  lease?: string;
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
        ...(options.lease !== undefined ? { lease: options.lease } : {}),
      },
      { progress: progressReporter(options), signal: controller.signal },
    );
  } finally {
    stopListening();
  }
  if (record.lease_seconds !== undefined) {
    // The keeper renews the lease until destroy stops it (or the sandbox is gone): with it gone
    // (this machine switched off, the keeper killed), the host tears the sandbox down by itself.
    const { detachKeeper } = await import('../detached-keeper.js');
    const { pid } = await detachKeeper(record.id, ['keep', record.id, ...globalFlags(options)], options);
    // With the keeper it recorded; a server cannot record a process of this machine, so say it here.
    const kept = await manager.get(record.id);
    record = kept.keeper
      ? kept
      : { ...kept, keeper: { pid, machine: hostname(), started_at: new Date().toISOString(), forwards: {} } };
    if (!options.json)
      process.stderr.write(`sandboxer: lease kept by keeper pid ${pid} (\`sandboxer destroy\` stops it)\n`);
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

/** The options of this invocation that a keeper started for it must see the same way. */
function globalFlags(options: ContextOptions): string[] {
  const flags: Array<[string, string | undefined]> = [
    ['--home', options.home],
    ['--state', options.state],
    ['--config-dir', options.configDir],
    ['--hosts-file', options.hostsFile],
    ['--identity-file', options.identityFile],
    ['--known-hosts', options.knownHosts],
    ['--host-fingerprint', options.hostFingerprint],
    ['--compose-command', options.composeCommand],
    // The token goes in the keeper's environment (detached-keeper.ts), never on its command line.
    ['--server', options.server],
  ];
  return [
    ...flags.flatMap(([flag, value]) => (value === undefined ? [] : [flag, value])),
    ...(options.insecureIgnoreHostKey ? ['--insecure-ignore-host-key'] : []),
  ];
}
