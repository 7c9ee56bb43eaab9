import { messageOf, StateConflictError } from '../errors.js';
import { keeperAlive, stopKeeper } from '../reach/keeper-process.js';
import { leaseLapse, leaseLapsed } from '../records/lease.js';
import { LIVE_STATES, type SandboxRecord } from '../records/sandbox.js';
import { sweepStaleScratch } from '../sync/scratch.js';
import { scanHosts } from './host-scan.js';
import type { GcContext, GcFinding, GcOptions } from './types.js';

/** How long gc waits for a sandbox's lock before deciding another process is busy with it. */
const BUSY_WAIT_MS = 1500;

/**
 * Reconciles the state store with reality: finishes sandboxes whose creator or destroyer died,
 * destroys expired ones, releases holds nobody will release, and removes what it finds on hosts
 * that is expired or that this store knows as gone. Never touches a sandbox another process is
 * working on (its lock is held), nor an unknown unexpired one unless asked.
 */
export async function collectGarbage(context: GcContext, options: GcOptions = {}): Promise<GcFinding[]> {
  const { lifecycle } = context;
  const { store, ledger } = lifecycle.deps;
  const findings: GcFinding[] = [];
  const now = lifecycle.deps.now();
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

  const records = (await store.listSandboxes()).filter(
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
      await lifecycle.destroy(record.id, {
        ...(options.progress ? { progress: options.progress } : {}),
        lockWaitMs: BUSY_WAIT_MS,
        onlyIf: (current) => {
          changed = whyCollect(current, lifecycle.deps.now()) === undefined;
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

  // Keepers (port forwards) of sandboxes that are gone: nothing left for them to forward.
  for (const record of await store.listSandboxes()) {
    if (LIVE_STATES.has(record.state) || !record.keeper || !keeperAlive(record.keeper, record.id)) continue;
    if (options.consumer !== undefined && record.consumer !== options.consumer) continue;
    await act(
      {
        sandbox: record.id,
        where: 'this machine',
        found: `keeper pid ${record.keeper.pid}`,
        reason: `its sandbox is ${record.state}`,
        action: 'destroy',
      },
      () => stopKeeper(record.keeper, record.id),
    );
  }

  for (const hold of await ledger.unreleasedHolds()) {
    const record = hold.sandbox ? await store.getSandbox(hold.sandbox) : undefined;
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
      () => ledger.release(hold, `gc: ${reason}`),
    );
  }

  // Key copies left by a create killed mid-rsync (its process is gone, so it could not remove them).
  if (!options.dryRun) {
    for (const dir of sweepStaleScratch(undefined, { legacy: true })) {
      findings.push({
        sandbox: '-',
        where: 'this machine',
        found: dir,
        reason: 'sync scratch of a dead process',
        action: 'destroy',
        result: 'done',
      });
    }
  }
  if (options.scanHosts !== false) findings.push(...(await scanHosts(context, options, now)));
  return findings;
}

/** Why a record needs gc, or undefined when it is fine as it is. */
function whyCollect(record: SandboxRecord, now: Date): string | undefined {
  if (record.state === 'provisioning') return 'stuck provisioning (its creator is gone)';
  if (record.state === 'destroying') return 'stuck destroying (a teardown failed or was cut short)';
  if (record.state === 'ready' && Date.parse(record.expires_at) <= now.getTime()) {
    return `expired at ${record.expires_at}`;
  }
  if (leaseLapsed(record, now)) return leaseLapse(record);
  if (record.state === 'failed' && record.cleanup?.leftovers.length) return 'its rollback left things behind';
  return undefined;
}
