import { setTimeout as sleep } from 'node:timers/promises';
import {
  type AccountBalance,
  type BillingQuery,
  type BillingRow,
  type CreateOptions,
  type CreateRequest,
  type CreditsService,
  type DestroyOptions,
  type EstimateReport,
  type HostService,
  type HostStatus,
  type HostsOverview,
  InterruptedError,
  type LedgerEntry,
  type OperationOptions,
  type RestoreOptions,
  type RouteReport,
  type SandboxRecord,
  type SandboxService,
  type SnapshotCreateOptions,
  type SnapshotRecord,
  type SnapshotService,
} from '@sand-boxer/core';
import { RemoteError, reviveError, ServerConnection, type ServerSettings } from './connection.js';

/** A record as the server shows it: with the server's operation on it (progress, outcome). */
type SandboxView = SandboxRecord & {
  operation?: { status: string; progress: string[]; error?: { code: string; message: string } };
};

/** How often a create in progress is asked after. */
const POLL_MS = 400;

/** The record as a local command would print it (without the server's operation). */
function plain(view: SandboxView): SandboxRecord {
  const { operation: _, ...record } = view;
  return record;
}

/**
 * SandboxService over HTTP: what a command does with `--server`. A create is accepted at once (202)
 * and followed until ready, its progress lines printed as they come; Ctrl-C asks the server to
 * stop it (it rolls back there). Errors come back with the server's codes, so exit codes match.
 */
export class RemoteService implements SandboxService {
  readonly #server: ServerConnection;

  constructor(settings: ServerSettings) {
    this.#server = new ServerConnection(settings);
  }

  get url(): string {
    return this.#server.url;
  }

  async create(request: CreateRequest, options: CreateOptions = {}): Promise<SandboxRecord> {
    // The server keeps any lease it is asked for (its reaper ends a lapsed one, on every backend).
    const { waitFor, inputs, leaseIfSupported: _, ...rest } = request;
    const first = await this.#server.request<SandboxView>('POST', '/v1/sandboxes', {
      body: { ...rest, inputs: inputs ?? {}, ...(waitFor ? { wait_for: waitFor } : {}) },
    });
    await options.onRecord?.(plain(first));
    return this.#follow(first.id, options);
  }

  get(id: string): Promise<SandboxRecord> {
    return this.#server.request<SandboxView>('GET', `/v1/sandboxes/${encodeURIComponent(id)}`).then(plain);
  }

  async list(options: { all?: boolean } = {}): Promise<SandboxRecord[]> {
    const views = await this.#server.request<SandboxView[]>('GET', '/v1/sandboxes', {
      query: { all: options.all ? 'true' : undefined },
    });
    return views.map(plain);
  }

  async destroy(id: string, options: DestroyOptions = {}): Promise<SandboxRecord> {
    options.progress?.(`sandbox ${id}: tearing down (on ${this.url})`);
    const record = plain(
      await this.#server.request<SandboxView>('DELETE', `/v1/sandboxes/${encodeURIComponent(id)}`),
    );
    options.progress?.(`sandbox ${id}: ${record.state}`);
    return record;
  }

  async extend(id: string, ttl: string | number): Promise<SandboxRecord> {
    return plain(
      await this.#server.request<SandboxView>('POST', `/v1/sandboxes/${encodeURIComponent(id)}/extend`, {
        body: { ttl },
      }),
    );
  }

  /**
   * Renews a sandbox's lease through the server (which renews it where it is kept); false once the
   * sandbox is gone (its lease ended, or it was destroyed), so the keeper stops.
   */
  async renewLease(id: string): Promise<boolean> {
    try {
      await this.#server.request('POST', `/v1/sandboxes/${encodeURIComponent(id)}/lease`, { body: {} });
      return true;
    } catch (error) {
      if (error instanceof RemoteError && ['NOT_FOUND', 'STATE_CONFLICT'].includes(error.code)) return false;
      throw error;
    }
  }

  estimateReport(profile: string, ttl?: string): Promise<EstimateReport> {
    return this.#server.request('GET', '/v1/estimate', { query: { profile, ttl } });
  }

  routeReport(request: CreateRequest): Promise<RouteReport> {
    return this.#server.request('GET', '/v1/route', {
      query: {
        profile: request.profile,
        ttl: request.ttl === undefined ? undefined : String(request.ttl),
        host: request.host,
        account: request.account,
        consumer: request.consumer,
        input: Object.entries(request.inputs ?? {}).map(([k, v]) => `${k}=${v}`),
      },
    });
  }

  get credits(): CreditsService {
    const server = this.#server;
    const account = (name: string) => `/v1/credits/${encodeURIComponent(name)}`;
    return {
      balance: (name) => server.request<AccountBalance>('GET', account(name)),
      accounts: () => server.request<AccountBalance[]>('GET', '/v1/credits'),
      grant: async (name, credits, note) =>
        (
          await server.request<{ entry: LedgerEntry }>('POST', `${account(name)}/grants`, {
            body: { amount: credits, ...(note ? { note } : {}) },
          })
        ).entry,
      history: (name) =>
        name === undefined
          ? this.#allHistory()
          : server.request<LedgerEntry[]>('GET', `${account(name)}/history`),
      billing: async (query: BillingQuery = {}) => {
        const text = await server.request<string>('GET', '/v1/credits/export', {
          query: { format: 'jsonl', account: query.account, since: query.since },
          text: true,
        });
        return text
          .split('\n')
          .filter(Boolean)
          .map((line) => JSON.parse(line) as BillingRow);
      },
    };
  }

  get snapshots(): SnapshotService {
    const server = this.#server;
    const snapshot = (ref: string) => `/v1/snapshots/${encodeURIComponent(ref)}`;
    return {
      create: (sandbox: string, options: SnapshotCreateOptions = {}) =>
        server.request<SnapshotRecord>('POST', `/v1/sandboxes/${encodeURIComponent(sandbox)}/snapshots`, {
          body: { ...(options.name ? { name: options.name } : {}), ...(options.pull ? { pull: true } : {}) },
        }),
      list: (options: { all?: boolean } = {}) =>
        server.request<SnapshotRecord[]>('GET', '/v1/snapshots', {
          query: { all: options.all ? 'true' : undefined },
        }),
      get: (ref: string) => server.request<SnapshotRecord>('GET', snapshot(ref)),
      pull: (ref: string, _options?: OperationOptions) =>
        server.request<SnapshotRecord>('POST', `${snapshot(ref)}/pull`),
      delete: (ref: string, _options?: OperationOptions) =>
        server.request<SnapshotRecord>('DELETE', snapshot(ref)),
      restore: async (ref: string, options: RestoreOptions = {}) => {
        const { mode, host, sandbox, inputs, ttl, consumer, account } = options;
        const record = await server.request<SandboxView>('POST', `${snapshot(ref)}/restore`, {
          body: { mode, host, sandbox, inputs, ttl, consumer, account },
        });
        return plain(record);
      },
    };
  }

  get hosts(): HostService {
    const server = this.#server;
    return {
      list: () => server.request<HostsOverview>('GET', '/v1/hosts'),
      probe: (name?: string) =>
        server.request<HostStatus[]>('POST', '/v1/hosts/probe', {
          body: name === undefined ? {} : { host: name },
        }),
      drain: (host: string) =>
        server.request<HostStatus>('POST', `/v1/hosts/${encodeURIComponent(host)}/drain`),
      undrain: (host: string) =>
        server.request<HostStatus>('POST', `/v1/hosts/${encodeURIComponent(host)}/undrain`),
    };
  }

  async close(): Promise<void> {}

  /** Every account's history, as the local ledger gives it without an account (an admin's view). */
  async #allHistory(): Promise<LedgerEntry[]> {
    const accounts = await this.credits.accounts();
    const all = await Promise.all(accounts.map((a) => this.credits.history(a.account)));
    return all.flat().sort((a, b) => a.at.localeCompare(b.at));
  }

  /** Follows a create on the server until it is ready (or failed), printing its progress. */
  async #follow(id: string, options: CreateOptions): Promise<SandboxRecord> {
    let shown: string[] = [];
    let cancelled = false;
    for (;;) {
      if (options.signal?.aborted && !cancelled) {
        cancelled = true;
        options.progress?.(`sandbox ${id}: asking ${this.url} to stop and roll back`);
        // The server stops the create and rolls it back; the record then says `failed`.
        await this.#server.request('DELETE', `/v1/sandboxes/${encodeURIComponent(id)}`).catch(() => {});
      }
      const view = await this.#server.request<SandboxView>('GET', `/v1/sandboxes/${encodeURIComponent(id)}`);
      shown = printNew(view.operation?.progress ?? [], shown, options.progress);
      if (view.state === 'ready') {
        await options.onRecord?.(plain(view));
        return plain(view);
      }
      if (view.state !== 'provisioning') {
        await options.onRecord?.(plain(view));
        if (cancelled) throw new InterruptedError(`sandbox ${id}: interrupted; rolled back on the server`);
        const error = view.operation?.error ?? view.error;
        throw error
          ? reviveError(502, error)
          : new RemoteError('PROVISION_FAILED', `sandbox ${id}: ${view.state}`);
      }
      await sleep(POLL_MS);
    }
  }
}

/** Prints the lines of `progress` not printed yet (the server keeps only the latest few). */
function printNew(
  progress: string[],
  shown: string[],
  print: ((line: string) => void) | undefined,
): string[] {
  const last = shown.at(-1);
  const from = last === undefined ? 0 : progress.lastIndexOf(last) + 1;
  for (const line of progress.slice(from)) print?.(line);
  return progress.length > 0 ? progress : shown;
}
