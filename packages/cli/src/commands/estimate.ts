import { type ContextOptions, openService } from '../context.js';
import { type OutputOptions, printJson, printLine } from '../output.js';
import { resolveProfileFlag } from '../profile-path.js';

/** `sandboxer estimate --profile P [--ttl]`: what a sandbox would cost, before creating it. */
export async function estimate(
  given: OutputOptions & ContextOptions & { profile: string; ttl?: string },
): Promise<void> {
  const options = resolveProfileFlag(given);
  const result = await (await openService(options)).estimateReport(options.profile, options.ttl);
  if (options.json) return printJson(result);
  const { quote } = result;
  if (!quote)
    return printLine(`${result.profile} runs on ${result.extension} (${result.pricing}): no charge`);
  printLine(
    `${result.profile} for ${result.ttl} on ${result.extension}: ${quote.credits} credits (${quote.rate} per ${quote.unit}, billed per started ${quote.unit})`,
  );
}
