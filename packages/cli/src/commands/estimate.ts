import { formatDuration } from '@sand-boxer/core';
import { type ContextOptions, openManager } from '../context.js';
import { type OutputOptions, printJson, printLine } from '../output.js';

/** `sandboxer estimate --profile P [--ttl]`: what a sandbox would cost, before creating it. */
export async function estimate(
  options: OutputOptions & ContextOptions & { profile: string; ttl?: string },
): Promise<void> {
  const manager = openManager(options);
  const catalog = await manager.catalog();
  const profile = catalog.profile(options.profile);
  const quote = await manager.estimate(options.profile, options.ttl);
  const pricing = catalog.extension(profile.extension).capabilities.pricing_model;
  const result = {
    profile: profile.id,
    extension: profile.extension,
    pricing,
    ttl: options.ttl ?? formatDuration(profile.ttl),
    quote: quote ?? null,
  };
  if (options.json) return printJson(result);
  if (!quote) return printLine(`${profile.id} runs on ${profile.extension} (${pricing}): no charge`);
  printLine(
    `${profile.id} for ${result.ttl} on ${profile.extension}: ${quote.credits} credits (${quote.rate} per ${quote.unit}, billed per started ${quote.unit})`,
  );
}
