import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { InputError, parseSandboxId, type SandboxManager, type SandboxRecord } from '@sand-boxer/core';
import type { ContextOptions } from './context.js';

/** `--record <file-or-json>`: a sandbox's record from another machine (e.g. printed by the action). */
export interface RecordFlag {
  record?: string;
}

/**
 * Takes over the record given with `--record` (when this machine's state does not have it), with the
 * SSH flags of this invocation in place of that machine's key and known_hosts paths.
 */
export async function adoptRecordFlag(
  manager: SandboxManager,
  id: string,
  options: ContextOptions & RecordFlag,
): Promise<void> {
  if (options.record === undefined) return;
  const record = readRecord(options.record);
  if (record.id !== parseSandboxId(id))
    throw new InputError(`--record is for sandbox ${record.id}, not ${id}`);
  await manager.adopt(withHostFlags(record, options));
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
export function withHostFlags(record: SandboxRecord, options: ContextOptions): SandboxRecord {
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
