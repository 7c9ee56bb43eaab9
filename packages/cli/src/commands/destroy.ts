import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
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
    await manager.adopt(withHostFlags(record, options));
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

/**
 * A record from elsewhere points at that machine's key and known_hosts files; the SSH flags given
 * here replace them (a verification flag replaces the record's whole host-key policy).
 */
function withHostFlags(record: SandboxRecord, options: ContextOptions): SandboxRecord {
  const ssh = (record.target as { ssh?: Record<string, unknown> } | undefined)?.ssh;
  if (!ssh) return record;
  const verifies = Boolean(options.knownHosts || options.hostFingerprint || options.insecureIgnoreHostKey);
  const updated: Record<string, unknown> = { ...ssh };
  if (verifies) {
    delete updated.known_hosts;
    delete updated.fingerprint;
    delete updated.insecure_ignore_host_key;
    if (options.knownHosts) updated.known_hosts = resolve(options.knownHosts);
    if (options.hostFingerprint) updated.fingerprint = options.hostFingerprint;
    if (options.insecureIgnoreHostKey) updated.insecure_ignore_host_key = true;
  }
  if (options.identityFile) updated.identity_file = resolve(options.identityFile);
  return { ...record, target: { ...(record.target as { name: string }), ssh: updated } };
}
