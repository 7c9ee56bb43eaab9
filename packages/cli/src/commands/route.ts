import { type ContextOptions, openService } from '../context.js';
import { formatTable, type OutputOptions, printJson, printLine } from '../output.js';
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

/** `sandboxer route --profile P [--explain]`: where a create would go, and why, without creating. */
export async function route(options: RouteOptions): Promise<void> {
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
  if (!options.explain) return;
  const rows = decision.candidates.map((c) => [
    String(c.index + 1),
    c.extension,
    c.host,
    c.pricing,
    c.estimate ? String(c.estimate.credits) : '-',
    c.index === chosen?.index ? 'chosen' : c.feasible ? 'feasible' : `rejected: ${c.reasons.join('; ')}`,
  ]);
  printLine();
  printLine(formatTable(['#', 'EXTENSION', 'HOST', 'PRICING', 'ESTIMATE', 'DECISION'], rows));
}
