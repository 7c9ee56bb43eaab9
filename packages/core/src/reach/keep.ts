import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { InputError, UnsupportedError } from '../errors.js';
import type { SandboxChannel } from '../extensions/contract.js';
import type { Keeper, SandboxRecord } from '../records/sandbox.js';
import { LIVE_STATES } from '../records/sandbox-states.js';
import { HostConnection } from './connection.js';
import { PortForwarder } from './forwarder.js';
import { keepLease } from './lease.js';
import { type PortTarget, resolveTargets } from './targets.js';

/** What keeping a sandbox needs from the manager. */
export interface KeeperHost {
  get(id: string): Promise<SandboxRecord>;
  /** A connection to the sandbox's host; absent where there is none to hold (a remote server). */
  openChannel?(id: string): Promise<SandboxChannel>;
  /** Renews the lease (over `channel`, the keeper's own connection, when given). */
  renewLease(id: string, channel?: SandboxChannel): Promise<boolean>;
  setKeeper(id: string, keeper: Keeper | undefined): Promise<SandboxRecord>;
}

export interface KeepOptions {
  /** What to forward (`web:8080`, `tunnel`, `8080`); every published port when empty. */
  names: string[];
  /** Forward nothing, only keep the lease (a keeper for a sandbox whose job reaches no ports). */
  noForwards?: boolean;
  /**
   * Renew the sandbox's lease (its `lease_seconds`) while keeping it: `required` (a keeper for the
   * lease: a sandbox without one is an error) or `if-any` (a port keeper keeps a lease too).
   */
  lease?: 'required' | 'if-any';
  /** Local ports asked for, by name (a free port otherwise). */
  locals?: Record<string, number>;
  /** Record this process as the sandbox's keeper (a detached keeper), so destroy stops it. */
  record?: boolean;
  log?: (message: string) => void;
  /** How often the record is looked at (default 5 s). */
  pollMs?: number;
}

export interface Keeping {
  urls: Record<string, string>;
  forwarder: PortForwarder | undefined;
  /** Resolves when the sandbox is no longer live (destroyed, failed, expired) or `stop` was called. */
  done: Promise<void>;
  stop(): void;
}

/**
 * The keeper's one connection to the sandbox's host, for its forwards and its lease renewals; none
 * when there is nothing to hold one for, or no way to (a sandbox kept through a server, a backend
 * without channels: renewals then go the manager's way).
 */
function openConnection(
  host: KeeperHost,
  id: string,
  options: KeepOptions,
  renewing: boolean,
): HostConnection | undefined {
  const open = host.openChannel?.bind(host);
  if (!open || (options.noForwards && !renewing)) return undefined;
  return new HostConnection({
    open: () => open(id),
    ...(options.log ? { log: options.log } : {}),
  });
}

/**
 * Renewals over the keeper's connection; the manager's way (its own login, or the store alone for a
 * lease only the store keeps) when the backend has no connections to offer.
 */
function renewer(host: KeeperHost, id: string, connection: HostConnection | undefined) {
  let channelless = connection === undefined;
  return async (): Promise<boolean> => {
    if (!channelless && connection) {
      try {
        return await host.renewLease(id, await connection.get());
      } catch (error) {
        if (!(error instanceof UnsupportedError)) throw error;
        channelless = true;
        connection.close();
      }
    }
    return host.renewLease(id);
  };
}

/** Local ports by target name; `*` (a port given without a name) goes with the only target. */
function localsByName(targets: PortTarget[], locals: Record<string, number>): Record<string, number> {
  const { '*': any, ...named } = locals;
  if (any === undefined) return named;
  if (targets.length !== 1) {
    throw new InputError(
      `local: the sandbox publishes ${targets.length} ports; name the one local port ${any} is for`,
      {
        field: 'local',
      },
    );
  }
  return { ...named, [(targets[0] as PortTarget).name]: any };
}

/**
 * Forwards a ready sandbox's ports and renews its lease if asked (reach/lease.ts), both over one
 * connection to its host (reopened when it drops), and —
 * as a detached keeper — records itself so that destroy and gc stop it. Watches the record: once
 * the sandbox is gone or past its expiry, it stops by itself.
 */
export async function keep(host: KeeperHost, id: string, options: KeepOptions): Promise<Keeping> {
  const record = await host.get(id);
  const leaseSeconds = options.lease ? record.lease_seconds : undefined;
  if (options.lease === 'required' && leaseSeconds === undefined) {
    throw new InputError(`sandbox ${id} has no lease to keep (it was created without --lease)`, {
      field: 'lease',
    });
  }
  const connection = openConnection(host, id, options, leaseSeconds !== undefined);
  let forwarder: PortForwarder | undefined;
  let urls: Record<string, string> = {};
  try {
    if (!options.noForwards) {
      if (!connection) throw new InputError(`sandbox ${id}: its ports cannot be reached from here`);
      forwarder = new PortForwarder({ connection, ...(options.log ? { log: options.log } : {}) });
      const targets = resolveTargets(record, options.names);
      urls = await forwarder.start(targets, localsByName(targets, options.locals ?? {}));
    }
    if (options.record) {
      await host.setKeeper(id, {
        pid: process.pid,
        machine: hostname(),
        started_at: new Date().toISOString(),
        forwards: urls,
      });
    }
  } catch (error) {
    forwarder?.stop();
    connection?.close();
    throw error;
  }
  const stopping = new AbortController();
  const stop = () => {
    stopping.abort();
    forwarder?.stop();
    connection?.close();
  };
  if (leaseSeconds !== undefined) {
    const lease = keepLease({
      leaseSeconds,
      renew: renewer(host, id, connection),
      signal: stopping.signal,
      ...(options.log ? { log: options.log } : {}),
    });
    void lease.done.then((end) => end === 'gone' && stop());
  }
  const done = (async () => {
    while (!stopping.signal.aborted) {
      await sleep(options.pollMs ?? 5000, undefined, { signal: stopping.signal }).catch(() => {});
      if (stopping.signal.aborted) break;
      const current = await host.get(id).catch(() => undefined);
      const expired = current && Date.parse(current.expires_at) <= Date.now();
      if (!current || !LIVE_STATES.has(current.state) || expired) {
        options.log?.(`sandbox ${id} is ${current?.state ?? 'gone'}${expired ? ' (expired)' : ''}: stopping`);
        stop();
      }
    }
  })();
  return { urls, forwarder, done, stop };
}
