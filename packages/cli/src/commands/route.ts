import type { CandidateReport } from '@sand-boxer/core';
import { type ContextOptions, openService } from '../context.js';
import { EXIT } from '../exit-codes.js';
import { formatTable, type OutputOptions, printJson, printLine } from '../output.js';
import { resolveProfileFlag } from '../profile-path.js';
import { parseInputFlags } from './create.js';

export interface RouteOptions extends OutputOptions, ContextOptions {
  profile: string;
  input: string[];
  host?: string;
  ttl?: string;
  consumer?: string;
  account?: string;
  explain?: boolean;
}

/**
 * `sandboxer route --profile P [--explain]`: where a create would go, and why, without creating.
 * Exit 8 when no backend can take it now.
 */
export async function route(given: RouteOptions): Promise<void> {
  const options = resolveProfileFlag(given);
  const decision = await (await openService(options)).routeReport({
    profile: options.profile,
    inputs: parseInputFlags(options.input),
    host: options.host,
    ttl: options.ttl,
    consumer: options.consumer,
    account: options.account,
  });
  if (options.json) return printJson(decision);
  const { chosen } = decision;
  printLine(
    chosen
      ? `${decision.profile} → ${chosen.extension} on ${chosen.host}${chosen.estimate ? ` (${chosen.estimate.credits} credits from "${decision.account}")` : ''}`
      : `${decision.profile} → no backend can take it now`,
  );
  // As documented (docs/cli.md): nothing feasible is exit 8, as a create would fail.
  if (!chosen) process.exitCode = EXIT.noBackend;
  if (!options.explain) return;
  // A pool adds one row per member host; the chosen row is the one with the chosen host.
  const isChosen = (c: CandidateReport) => c.index === chosen?.index && c.host === chosen.host;
  const rows = decision.candidates.map((c) => [
    String(c.index + 1),
    c.extension,
    c.pool ? `${c.host} (pool ${c.pool})` : c.host,
    c.pricing,
    c.estimate ? String(c.estimate.credits) : '-',
    isChosen(c)
      ? 'chosen'
      : c.feasible
        ? chosen?.pool !== undefined && chosen.pool === c.pool
          ? `feasible; placement put ${chosen.host} first`
          : 'feasible'
        : `rejected: ${c.reasons.join('; ')}`,
  ]);
  printLine();
  printLine(formatTable(['#', 'EXTENSION', 'HOST', 'PRICING', 'ESTIMATE', 'DECISION'], rows));
}
