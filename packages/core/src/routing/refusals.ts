import type { Catalog } from '../catalog/catalog.js';
import type { Profile } from '../declarations/profile-schema.js';
import { NoBackendAvailableError, SandboxerError } from '../errors.js';
import type { SandboxExtension } from '../extensions/contract.js';
import type { AccountBalance } from '../metering/balance.js';
import type { MeterQuote } from '../records/metering.js';
import { formatDuration } from '../util/duration.js';
import type { RouteRequest, RoutingDecision } from './types.js';

/** What routing says when it refuses: the reasons, and the cheapest ways around them. */

/**
 * Why no candidate can take the sandbox: a single candidate's own error (e.g. InsufficientCreditsError,
 * an InputError), else a NoBackendAvailableError with every candidate and its reasons.
 */
export function noneFeasible(
  request: RouteRequest,
  decision: RoutingDecision,
  errors: Map<number, unknown>,
): Error {
  if (decision.candidates.length === 1) {
    const own = errors.get(0);
    if (own instanceof SandboxerError) return own;
  }
  const table = decision.candidates
    .map(
      (c) =>
        `  ${c.index + 1}. ${c.extension} on ${c.host}${c.pool ? ` (pool ${c.pool})` : ''}: ${c.reasons.join('; ')}`,
    )
    .join('\n');
  return new NoBackendAvailableError(`no backend can take a ${request.profile.id} sandbox now:\n${table}`, {
    profile: request.profile.id,
    candidates: decision.candidates,
  });
}

/** The refusal message, with the cheapest alternatives: a shorter TTL that fits, or a self-hosted profile. */
export function insufficientCredits(
  catalog: Catalog,
  profile: Profile,
  request: RouteRequest,
  estimate: MeterQuote,
  balance: AccountBalance,
  extension: SandboxExtension,
): string {
  const alternatives: string[] = [];
  let fitting: { seconds: number; credits: number } | undefined;
  for (let seconds = request.ttlSeconds - 60; seconds >= 60; seconds -= 60) {
    const quote = extension.estimateCost?.(profile, seconds);
    if (quote && quote.credits <= balance.available) {
      fitting = { seconds, credits: quote.credits };
      break;
    }
  }
  if (fitting) alternatives.push(`a ttl of ${formatDuration(fitting.seconds)} (${fitting.credits} credits)`);
  const selfHosted = catalog
    .profiles()
    .filter((p) => catalog.extension(p.extension).capabilities.pricing_model === 'self-hosted')
    .map((p) => p.id.replace(/^profile\./, ''));
  if (selfHosted.length > 0)
    alternatives.push(`a self-hosted profile at no charge (${selfHosted.join(', ')})`);
  return (
    `account "${request.account}" cannot afford ${profile.id} for ${formatDuration(request.ttlSeconds)}: ` +
    `estimate ${estimate.credits} credits, available ${balance.available} (balance ${balance.balance}, held ${balance.held}). ` +
    `Cheapest alternatives: ${alternatives.join(', or ') || 'none'}; or grant the account more credits`
  );
}
