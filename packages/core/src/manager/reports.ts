import type { Catalog } from '../catalog/catalog.js';
import type { BillingQuery, BillingRow } from '../metering/billing-export.js';
import type { CreditsLedger } from '../metering/ledger.js';
import type { MeterQuote } from '../records/metering.js';
import type { RoutingDecision } from '../routing/types.js';
import { formatDuration } from '../util/duration.js';
import type { CreditsService, EstimateReport, RouteReport } from './service.js';

/** The manager's answers in the shapes every surface shows (service.ts), nothing internal in them. */

export function routeReport(decision: RoutingDecision): RouteReport {
  const { chosen, ...rest } = decision;
  return { ...rest, chosen: chosen?.report ?? null };
}

export function estimateReport(
  catalog: Catalog,
  profileId: string,
  ttl: string | undefined,
  quote: MeterQuote | undefined,
): EstimateReport {
  const profile = catalog.profile(profileId);
  return {
    profile: profile.id,
    extension: profile.extension,
    pricing: catalog.extension(profile.extension).capabilities.pricing_model,
    ttl: ttl ?? formatDuration(profile.ttl),
    quote: quote ?? null,
  };
}

export function creditsService(
  ledger: CreditsLedger,
  billing: (query?: BillingQuery) => Promise<BillingRow[]>,
): CreditsService {
  return {
    balance: (account) => ledger.balance(account),
    accounts: () => ledger.accounts(),
    grant: (account, credits, note) => ledger.grant(account, credits, note),
    history: (account) => ledger.history(account),
    billing,
  };
}
