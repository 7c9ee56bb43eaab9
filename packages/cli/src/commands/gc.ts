import { type GcFinding, InputError, parseDurationSeconds } from '@sand-boxer/core';
import { type ContextOptions, openManager } from '../context.js';
import { formatTable, type OutputOptions, printJson, printLine, progressReporter } from '../output.js';

export interface GcCliOptions extends OutputOptions, ContextOptions {
  dryRun?: boolean;
  host?: string[];
  hosts?: boolean;
  consumer?: string;
  unknown?: boolean;
  cacheMaxAge?: string;
}

/**
 * `sandboxer gc`: reconciles the state store with reality and prints a table of what it found and
 * did. Exit 0 when everything it acted on is gone; 5 (teardown failed) when something resisted.
 */
export async function gc(options: GcCliOptions): Promise<void> {
  const cacheMaxAgeSeconds = parseDurationSeconds(options.cacheMaxAge ?? '14d');
  if (cacheMaxAgeSeconds === undefined) {
    throw new InputError(
      `--cache-max-age ${JSON.stringify(options.cacheMaxAge)}: expected a duration such as 14d, 12h or 90m`,
    );
  }
  const manager = openManager(options);
  const findings = await manager.gc({
    ...(options.dryRun ? { dryRun: true } : {}),
    ...(options.host?.length ? { hosts: options.host } : {}),
    ...(options.hosts === false ? { scanHosts: false } : {}),
    ...(options.consumer ? { consumer: options.consumer } : {}),
    ...(options.unknown ? { unknown: true } : {}),
    cacheMaxAgeSeconds,
    progress: progressReporter(options),
  });
  const failed = findings.filter((f) => f.result === 'failed');
  if (options.json) printJson(findings);
  else printLine(describe(findings, options.dryRun === true));
  if (failed.length > 0) process.exitCode = 5;
}

function describe(findings: GcFinding[], dryRun: boolean): string {
  if (findings.length === 0) return 'nothing to collect: the store and the hosts agree';
  const rows = findings.map((f) => [
    f.sandbox,
    f.where,
    f.found,
    f.reason,
    f.action,
    f.detail ? `${f.result}: ${f.detail}` : f.result,
  ]);
  const acted = findings.filter((f) => f.action !== 'keep').length;
  const summary = dryRun
    ? `${acted} to collect (dry run: nothing changed)`
    : `${findings.filter((f) => f.result === 'done').length} collected, ${findings.filter((f) => f.result === 'failed').length} failed, ${findings.filter((f) => f.action === 'keep').length} kept`;
  const unknownKept = findings.some(
    (f) => f.action === 'keep' && f.reason.startsWith('unknown to this store'),
  );
  const hint = unknownKept ? '\n(--unknown also removes the sandboxes this store does not know)' : '';
  return `${formatTable(['SANDBOX', 'WHERE', 'FOUND', 'WHY', 'ACTION', 'RESULT'], rows)}\n\n${summary}${hint}`;
}
