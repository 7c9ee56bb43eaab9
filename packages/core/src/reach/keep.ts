import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { InputError } from '../errors.js';
import type { SandboxChannel } from '../extensions/contract.js';
import type { Keeper, SandboxRecord } from '../records/sandbox.js';
import { LIVE_STATES } from '../records/sandbox-states.js';
import { PortForwarder } from './forwarder.js';
import { type PortTarget, resolveTargets } from './targets.js';

/** What keeping a sandbox needs from the manager. */
export interface KeeperHost {
  get(id: string): Promise<SandboxRecord>;
  openChannel(id: string): Promise<SandboxChannel>;
  setKeeper(id: string, keeper: Keeper | undefined): Promise<SandboxRecord>;
}

export interface KeepOptions {
  /** What to forward (`web:8080`, `tunnel`, `8080`); every published port when empty. */
  names: string[];
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
  forwarder: PortForwarder;
  /** Resolves when the sandbox is no longer live (destroyed, failed, expired) or `stop` was called. */
  done: Promise<void>;
  stop(): void;
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
 * Forwards a ready sandbox's ports over one connection to its host (reopened when it drops), and —
 * as a detached keeper — records itself so that destroy and gc stop it. Watches the record: once
 * the sandbox is gone or past its expiry, it stops by itself.
 */
export async function keep(host: KeeperHost, id: string, options: KeepOptions): Promise<Keeping> {
  const record = await host.get(id);
  const forwarder = new PortForwarder({
    open: () => host.openChannel(id),
    ...(options.log ? { log: options.log } : {}),
  });
  const targets = resolveTargets(record, options.names);
  const urls = await forwarder.start(targets, localsByName(targets, options.locals ?? {}));
  if (options.record) {
    await host.setKeeper(id, {
      pid: process.pid,
      machine: hostname(),
      started_at: new Date().toISOString(),
      forwards: urls,
    });
  }
  const stopping = new AbortController();
  const stop = () => {
    stopping.abort();
    forwarder.stop();
  };
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
