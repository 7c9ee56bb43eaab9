import type { Catalog } from '../catalog/catalog.js';
import { UnsupportedError } from '../errors.js';
import type { SandboxExtension } from '../extensions/contract.js';
import type { HostDirectory } from '../hosts/directory.js';
import { drainHost, type HostsDeps, hostsOverview, probeHosts } from '../hosts/overview.js';
import { type BillingQuery, type BillingRow, billingRows } from '../metering/billing-export.js';
import type { CreditsLedger } from '../metering/ledger.js';
import type { MeterQuote } from '../records/metering.js';
import type { RoutingDecision } from '../routing/types.js';
import type { StateStore } from '../state/store.js';
import { formatDuration } from '../util/duration.js';
import type { CreditsService, EstimateReport, HostService, RouteReport } from './service.js';

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

/** `hosts`: the overview, probes and drains, probing through the first SSH extension that can. */
export function hostService(deps: {
  hosts: HostDirectory;
  store: StateStore;
  now: () => Date;
  catalog: () => Promise<Catalog>;
  extension: (id: string) => Promise<SandboxExtension>;
}): HostService {
  const hostsDeps: HostsDeps = {
    hosts: deps.hosts,
    store: deps.store,
    now: deps.now,
    probe: async (host) => {
      for (const declaration of (await deps.catalog()).extensions()) {
        const extension = await deps.extension(declaration.id);
        if (extension.hostKind === 'ssh' && extension.probeHost) return extension.probeHost(host);
      }
      throw new UnsupportedError('no extension can probe a host');
    },
  };
  return {
    list: () => hostsOverview(hostsDeps),
    probe: (name) => probeHosts(hostsDeps, name),
    drain: (host) => drainHost(hostsDeps, host, true),
    undrain: (host) => drainHost(hostsDeps, host, false),
  };
}

/** The ledger as billing rows (see metering/billing-export.ts), with the records they refer to. */
export async function billingOf(store: StateStore, query: BillingQuery): Promise<BillingRow[]> {
  const [entries, sandboxes, snapshots] = await Promise.all([
    store.readLedger(query.account),
    store.listSandboxes(),
    store.listSnapshots(),
  ]);
  return billingRows(entries, sandboxes, snapshots, query);
}
