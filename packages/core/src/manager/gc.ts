import type { Catalog } from '../catalog/catalog.js';
import { messageOf, StateConflictError } from '../errors.js';
import type {
  CacheFinding,
  HostFinding,
  OperationOptions,
  SandboxExtension,
} from '../extensions/contract.js';
import type { CreditsLedger } from '../metering/ledger.js';
import type { HostTarget } from '../records/host-target.js';
import { LIVE_STATES, type SandboxRecord } from '../records/sandbox.js';
import type { StateStore } from '../state/store.js';
import { sweepStaleScratch } from '../sync/scratch.js';
import { formatDuration } from '../util/duration.js';
import type { DestroyOptions } from './manager.js';

export interface GcOptions extends OperationOptions {
  /** Report what would be done, change nothing. */
  dryRun?: boolean;
  /** Scan only these hosts (aliases); default every host of the hosts file. */
  hosts?: string[];
  /** Scan hosts at all (the action's scoped gc only reconciles its own records). */
  scanHosts?: boolean;
  /** Only this consumer's sandboxes and holds. */
  consumer?: string;
  /** Also remove sandboxes found on hosts that this store does not know, even before they expire. */
  unknown?: boolean;
  /**
   * Host-side caches (the sync cache) unused for longer than this go too; default 14 days. Not with
   * `consumer`: caches are shared by everyone who creates on the host.
   */
  cacheMaxAgeSeconds?: number;
}

/** How long a host-side cache may go unused before gc removes it, unless told otherwise. */
export const DEFAULT_CACHE_MAX_AGE_SECONDS = 14 * 24 * 3600;

/** One thing gc looked at, what it decided and how that went. */
export interface GcFinding {
  sandbox: string;
  /** `store` for a record, else the host it was found on. */
  where: string;
  /** What was found: the record's state, or the resources on the host. */
  found: string;
  reason: string;
  action: 'destroy' | 'release hold' | 'keep';
  result: 'done' | 'failed' | 'dry run' | 'kept';
  detail?: string;
}

export interface GcDeps {
  store: StateStore;
  catalog: () => Promise<Catalog>;
  home: string;
  ledger: CreditsLedger;
  now: () => Date;
  destroy: (id: string, options: DestroyOptions) => Promise<SandboxRecord>;
  resolveHost: (name: string, extension: SandboxExtension) => Promise<HostTarget | undefined>;
  listHosts: () => Promise<string[]>;
}

/** How long gc waits for a sandbox's lock before deciding another process is busy with it. */
const BUSY_WAIT_MS = 1500;

/**
 * Reconciles the state store with reality: finishes sandboxes whose creator or destroyer died,
 * destroys expired ones, releases holds nobody will release, and removes what it finds on hosts
 * that is expired or that this store knows as gone. Never touches a sandbox another process is
 * working on (its lock is held), nor an unknown unexpired one unless asked.
 */
export async function collectGarbage(deps: GcDeps, options: GcOptions = {}): Promise<GcFinding[]> {
  const findings: GcFinding[] = [];
  const now = deps.now();
  const act = async (finding: Omit<GcFinding, 'result'>, work: () => Promise<unknown>) => {
    if (options.dryRun) {
      findings.push({ ...finding, result: 'dry run' });
      return;
    }
    try {
      await work();
      findings.push({ ...finding, result: 'done' });
    } catch (error) {
      findings.push({ ...finding, result: 'failed', detail: messageOf(error) });
    }
  };

  const records = (await deps.store.listSandboxes()).filter(
    (r) => options.consumer === undefined || r.consumer === options.consumer,
  );
  for (const record of records) {
    const reason = whyCollect(record, now);
    if (!reason) continue;
    const finding = { sandbox: record.id, where: 'store', found: record.state, reason };
    const kept = (detail: string) => findings.push({ ...finding, action: 'keep', result: 'kept', detail });
    if (options.dryRun) {
      findings.push({ ...finding, action: 'destroy', result: 'dry run' });
      continue;
    }
    options.progress?.(`gc: sandbox ${record.id} (${record.state}): ${reason}`);
    let changed = false;
    try {
      await deps.destroy(record.id, {
        ...(options.progress ? { progress: options.progress } : {}),
        lockWaitMs: BUSY_WAIT_MS,
        onlyIf: (current) => {
          changed = whyCollect(current, deps.now()) === undefined;
          return !changed;
        },
      });
      if (changed) kept('it changed meanwhile (e.g. became ready); nothing to do');
      else findings.push({ ...finding, action: 'destroy', result: 'done' });
    } catch (error) {
      if (error instanceof StateConflictError) kept('another process is working on it');
      else findings.push({ ...finding, action: 'destroy', result: 'failed', detail: messageOf(error) });
    }
  }

  for (const hold of await deps.ledger.unreleasedHolds()) {
    const record = hold.sandbox ? await deps.store.getSandbox(hold.sandbox) : undefined;
    if (options.consumer !== undefined && record?.consumer !== options.consumer) continue;
    if (record && LIVE_STATES.has(record.state) && record.hold === hold.id) continue;
    const reason = record ? `its sandbox is ${record.state}` : 'no sandbox record holds it';
    await act(
      {
        sandbox: hold.sandbox ?? '-',
        where: 'ledger',
        found: `hold of ${hold.credits} credits on "${hold.account}"`,
        reason,
        action: 'release hold',
      },
      () => deps.ledger.release(hold.id, `gc: ${reason}`),
    );
  }

  // Key copies left by a create killed mid-rsync (its process is gone, so it could not remove them).
  if (!options.dryRun) {
    for (const dir of sweepStaleScratch(undefined, { legacy: true })) {
      findings.push({
        sandbox: '-',
        where: 'this machine',
        found: dir,
        reason: 'key scratch of a dead process',
        action: 'destroy',
        result: 'done',
      });
    }
  }
  if (options.scanHosts !== false) findings.push(...(await scanHosts(deps, options, now)));
  return findings;
}

/** Why a record needs gc, or undefined when it is fine as it is. */
function whyCollect(record: SandboxRecord, now: Date): string | undefined {
  if (record.state === 'provisioning') return 'stuck provisioning (its creator is gone)';
  if (record.state === 'destroying') return 'stuck destroying (a teardown failed or was cut short)';
  if (record.state === 'ready' && Date.parse(record.expires_at) <= now.getTime()) {
    return `expired at ${record.expires_at}`;
  }
  if (record.state === 'failed' && record.cleanup?.leftovers.length) return 'its rollback left things behind';
  return undefined;
}

async function scanHosts(deps: GcDeps, options: GcOptions, now: Date): Promise<GcFinding[]> {
  const catalog = await deps.catalog();
  const findings: GcFinding[] = [];
  const names = options.hosts ?? (await deps.listHosts());
  const extensions: SandboxExtension[] = [];
  for (const declaration of catalog.extensions()) {
    const extension = await catalog.instantiate(declaration.id, deps.home);
    if (extension.hostKind === 'ssh' && extension.findSandboxes) extensions.push(extension);
  }
  for (const name of names) {
    for (const extension of extensions) {
      let host: HostTarget | undefined;
      let found: HostFinding[];
      try {
        host = await deps.resolveHost(name, extension);
        if (!host) continue;
        options.progress?.(`gc: looking for ${extension.id} sandboxes on ${name}`);
        found = await (extension.findSandboxes as NonNullable<SandboxExtension['findSandboxes']>)(
          host,
          options,
        );
      } catch (error) {
        findings.push({
          sandbox: '-',
          where: name,
          found: extension.id,
          reason: 'scan failed',
          action: 'keep',
          result: 'failed',
          detail: messageOf(error),
        });
        continue;
      }
      if (extension.pruneCaches && options.consumer === undefined) {
        findings.push(...(await pruneCaches(extension, host, name, options)));
      }
      for (const item of found) {
        const finding = await decide(deps, item, name, now, options);
        if (finding.action === 'keep') {
          findings.push({ ...finding, result: 'kept' });
          continue;
        }
        const target = host;
        if (options.dryRun) {
          findings.push({ ...finding, result: 'dry run' });
          continue;
        }
        try {
          const report = await extension.teardown(
            { sandbox_id: item.sandbox_id, host: name, target },
            options,
          );
          findings.push({
            ...finding,
            result: report.leftovers.length ? 'failed' : 'done',
            ...(report.leftovers.length ? { detail: report.leftovers.join('; ') } : {}),
          });
        } catch (error) {
          findings.push({ ...finding, result: 'failed', detail: messageOf(error) });
        }
      }
    }
  }
  return findings;
}

/** The host's caches unused for longer than the limit, as findings (a failed prune is one too). */
async function pruneCaches(
  extension: SandboxExtension,
  host: HostTarget,
  name: string,
  options: GcOptions,
): Promise<GcFinding[]> {
  const maxAge = options.cacheMaxAgeSeconds ?? DEFAULT_CACHE_MAX_AGE_SECONDS;
  const limit = formatDuration(maxAge);
  let caches: CacheFinding[];
  try {
    options.progress?.(`gc: looking for sync caches unused for over ${limit} on ${name}`);
    caches = await (extension.pruneCaches as NonNullable<SandboxExtension['pruneCaches']>)(host, {
      olderThanMinutes: Math.floor(maxAge / 60),
      ...(options.dryRun ? { dryRun: true } : {}),
      ...(options.progress ? { progress: options.progress } : {}),
    });
  } catch (error) {
    return [
      {
        sandbox: '-',
        where: name,
        found: `${extension.id} sync caches`,
        reason: 'prune failed',
        action: 'keep',
        result: 'failed',
        detail: messageOf(error),
      },
    ];
  }
  return caches.map((c) => {
    const finding = {
      sandbox: '-',
      where: name,
      found: `sync cache ${c.path} (${(c.size_kib / 1024).toFixed(1)} MB)`,
      reason: `unused since ${c.last_used} (over ${limit})`,
    };
    if (c.result === 'in-use') {
      return { ...finding, action: 'keep', result: 'kept', detail: 'a create is using it' } as const;
    }
    const result = c.result === 'removed' ? 'done' : c.result === 'dry-run' ? 'dry run' : 'failed';
    return {
      ...finding,
      action: 'destroy',
      result,
      ...(result === 'failed' ? { detail: 'could not remove it all (files of another user?)' } : {}),
    } as const;
  });
}

/** What to do with something found on a host, from what this store knows and what the host says. */
async function decide(
  deps: GcDeps,
  item: HostFinding,
  host: string,
  now: Date,
  options: GcOptions,
): Promise<Omit<GcFinding, 'result'>> {
  const base = { sandbox: item.sandbox_id, where: host, found: item.resources.join(', ') };
  const record = await deps.store.getSandbox(item.sandbox_id);
  const expired = item.expires_at !== undefined && Date.parse(item.expires_at) <= now.getTime();
  if (record && LIVE_STATES.has(record.state)) {
    // A live record is the store's business (handled above, under its lock), never the scan's.
    return { ...base, reason: `live in this store (${record.state})`, action: 'keep' };
  }
  if (record) return { ...base, reason: `left over: the store has it ${record.state}`, action: 'destroy' };
  if (expired)
    return { ...base, reason: `unknown to this store, expired at ${item.expires_at}`, action: 'destroy' };
  if (options.consumer !== undefined) return { ...base, reason: "not this consumer's", action: 'keep' };
  if (options.unknown) return { ...base, reason: 'unknown to this store (--unknown)', action: 'destroy' };
  return {
    ...base,
    reason: `unknown to this store, ${item.expires_at ? `expires ${item.expires_at}` : 'expiry unknown'} (another machine's? --unknown removes it)`,
    action: 'keep',
  };
}
