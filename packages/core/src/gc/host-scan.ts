import { messageOf } from '../errors.js';
import type { CacheFinding, HostFinding, SandboxExtension } from '../extensions/contract.js';
import type { HostTarget } from '../records/host-target.js';
import { LIVE_STATES } from '../records/sandbox.js';
import type { StateStore } from '../state/store.js';
import { formatDuration } from '../util/duration.js';
import { DEFAULT_CACHE_MAX_AGE_SECONDS, type GcContext, type GcFinding, type GcOptions } from './types.js';

/**
 * Looks on every host (the hosts file's, or those asked for) for what each SSH extension left there,
 * and removes what is expired or known to be gone, and caches unused for too long.
 */
export async function scanHosts(context: GcContext, options: GcOptions, now: Date): Promise<GcFinding[]> {
  const { lifecycle, hosts } = context;
  const catalog = await lifecycle.deps.catalog();
  const findings: GcFinding[] = [];
  const names = options.hosts ?? (await hosts.aliases());
  const extensions: SandboxExtension[] = [];
  for (const declaration of catalog.extensions()) {
    const extension = await lifecycle.extension(declaration.id);
    if (extension.hostKind === 'ssh' && extension.findSandboxes) extensions.push(extension);
  }
  for (const name of names) {
    for (const extension of extensions) {
      let host: HostTarget | undefined;
      let found: HostFinding[];
      try {
        host = await hosts.resolve(name);
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
        const finding = await decide(lifecycle.deps.store, item, name, now, options);
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
  store: StateStore,
  item: HostFinding,
  host: string,
  now: Date,
  options: GcOptions,
): Promise<Omit<GcFinding, 'result'>> {
  const base = { sandbox: item.sandbox_id, where: host, found: item.resources.join(', ') };
  const record = await store.getSandbox(item.sandbox_id);
  const expired = item.expires_at !== undefined && Date.parse(item.expires_at) <= now.getTime();
  if (record && LIVE_STATES.has(record.state)) {
    // A live record is the store's business (handled above, under its lock), never the scan's.
    return { ...base, reason: `live in this store (${record.state})`, action: 'keep' };
  }
  if (record) return { ...base, reason: `left over: the store has it ${record.state}`, action: 'destroy' };
  if (expired)
    return { ...base, reason: `unknown to this store, expired at ${item.expires_at}`, action: 'destroy' };
  if (options.consumer !== undefined) return { ...base, reason: "not this consumer's", action: 'keep' };
  if (options.unknown)
    return {
      ...base,
      reason: 'unknown to this store (asked to remove unknown ones)',
      action: 'destroy',
    };
  return {
    ...base,
    reason: `unknown to this store, ${item.expires_at ? `expires ${item.expires_at}` : 'expiry unknown'} (another machine's?)`,
    action: 'keep',
  };
}
