import { InterruptedError, UnsupportedError } from '../errors.js';
import type { ProvisionRequest, SandboxChannel, SandboxExtension } from '../extensions/contract.js';
import { markUnhealthy } from '../hosts/status.js';
import { waitForChecks } from '../reach/checks.js';
import { keepLease } from '../reach/lease.js';
import type { SandboxHandle } from '../records/handle.js';
import type { RemoteHost } from '../records/host-target.js';
import type { SandboxRecord } from '../records/sandbox.js';
import { type CreateTimings, describeTimings } from '../records/timings.js';
import { hostLevelFailure } from '../routing/host-failures.js';
import type { RoutingChoice } from '../routing/resolver.js';
import { newSandboxId } from '../util/ids.js';
import { failure, rollback, undoOnHost } from './create-rollback.js';
import { reroute, routeAndRecord } from './create-routing.js';
import { errorOf, holdOf, lockKey, minimalHandle, throwIfAborted } from './keys.js';
import type { CreatePlan } from './plan.js';
import { type CreateSteps, type LifecycleDeps, saveRecord } from './types.js';

/**
 * Records the sandbox as `provisioning` before any backend call (routing and that first record under
 * one lock, so capacities count it), so a crash at any later point leaves a trace to clean up; then
 * provisions and waits until ready. A failure rolls back at once and leaves the sandbox `failed` —
 * unless it is the host's fault and the request named a pool: then it is rolled back on that host,
 * the host rests (remembered in the store), and the next host of the pool gets it.
 */
export async function createSandbox(
  deps: LifecycleDeps,
  plan: CreatePlan,
  steps: CreateSteps,
): Promise<SandboxRecord> {
  const save = async (next: SandboxRecord) => {
    const saved = await saveRecord(deps, next);
    await steps.onRecord?.(saved);
    return saved;
  };
  const id = newSandboxId();
  const accepted = deps.now().toISOString();
  return deps.store.withLock(lockKey(id), async () => {
    let { record, choice } = await routeAndRecord(deps, plan, id, save);
    const failed = new Map<string, string>();
    for (;;) {
      const attempt = await bringUp(deps, plan, record, choice, { ...steps, accepted }, save);
      if ('ready' in attempt) return attempt.ready;
      const { error, step, handle } = attempt;
      const pool = (choice.host as RemoteHost | undefined)?.pool;
      const reason = pool && !steps.signal?.aborted ? hostLevelFailure(error) : undefined;
      if (!reason) {
        // The final handle, else what provision checkpointed, else the minimal handle.
        const cause = steps.signal?.aborted ? new InterruptedError(`interrupted during ${step}`) : error;
        const rolledBack = await rollback(
          deps,
          attempt.record,
          choice.extension,
          handle,
          step,
          cause,
          steps.progress,
        );
        await steps.onRecord?.(rolledBack);
        throw failure(rolledBack, step, cause);
      }
      record = await failOver(deps, attempt.record, choice, handle, error, reason, steps);
      failed.set(record.host, reason);
      try {
        const failures = (record.routing ?? []).filter(
          (r) => failed.has(r.host) && r.reasons[0]?.startsWith('failed:'),
        );
        ({ record, choice } = await reroute(deps, { ...plan, exclude: failed }, record, failures, save));
      } catch (noneLeft) {
        const rolledBack = await saveRecord(deps, {
          ...record,
          state: 'failed',
          error: errorOf('provision', noneLeft),
          destroyed_at: deps.now().toISOString(),
          owner_pid: undefined,
        });
        await steps.onRecord?.(rolledBack);
        throw noneLeft;
      }
    }
  });
}

/**
 * A host failed the create for a host-level reason: undo there, give the hold back, let the host
 * rest for its pool's cool-down, and note it in the record's `routing`.
 */
async function failOver(
  deps: LifecycleDeps,
  record: SandboxRecord,
  choice: RoutingChoice,
  handle: SandboxHandle | undefined,
  error: unknown,
  reason: string,
  steps: CreateSteps,
): Promise<SandboxRecord> {
  const host = choice.host as RemoteHost;
  steps.progress?.(
    `sandbox ${record.id}: host ${host.name} failed (${reason}); trying the next host of pool ${host.pool}`,
  );
  const cleanup = await undoOnHost(record, choice.extension, handle, error, steps.progress);
  const hold = holdOf(record);
  if (hold) await deps.ledger.release(hold, `host ${host.name} failed`);
  const pool = await deps.pool?.(host.pool);
  await markUnhealthy(deps.store, host.name, reason, pool?.cooldownSeconds ?? 60, deps.now());
  const leftovers = cleanup.leftovers.length > 0 ? ` (left there: ${cleanup.leftovers.join('; ')})` : '';
  return {
    ...record,
    hold: undefined,
    routing: [
      ...(record.routing ?? []),
      {
        extension: record.extension,
        host: host.name,
        pool: host.pool,
        reasons: [`failed: ${reason}${leftovers}`],
      },
    ],
  };
}

/** One attempt on the chosen host: provision, wait until ready, the checks. */
async function bringUp(
  deps: LifecycleDeps,
  plan: CreatePlan,
  first: SandboxRecord,
  choice: RoutingChoice,
  steps: CreateSteps & { accepted: string },
  save: (record: SandboxRecord) => Promise<SandboxRecord>,
): Promise<
  | { ready: SandboxRecord }
  | { error: unknown; step: string; handle: SandboxHandle | undefined; record: SandboxRecord }
> {
  const { progress, signal } = steps;
  let record = first;
  const { id } = record;
  // Hosts that failed during this create were reported as they failed.
  for (const rejected of (record.routing ?? []).filter((r) => !r.reasons[0]?.startsWith('failed:'))) {
    progress?.(`routing: skipped ${rejected.extension} on ${rejected.host}: ${rejected.reasons.join('; ')}`);
  }
  const held =
    record.estimate && record.hold
      ? `, holding ${record.estimate.credits} credits from "${plan.account}"`
      : '';
  const { extension } = choice;
  progress?.(
    `sandbox ${id}: provisioning on ${record.host} with ${extension.id} (profile ${plan.profile.id}${held})`,
  );
  let handle: SandboxHandle | undefined;
  let step = plan.restore ? 'restore' : 'provision';
  const timings: CreateTimings = { accepted: steps.accepted };
  const creating = new AbortController();
  renewWhileCreating(extension, record, creating.signal);
  try {
    throwIfAborted(signal);
    const request: ProvisionRequest = {
      sandboxId: id,
      profile: plan.profile,
      inputs: choice.inputs,
      host: choice.host,
      createdAt: new Date(record.created_at),
      expiresAt: new Date(record.expires_at),
      ...(record.lease_seconds !== undefined ? { leaseSeconds: record.lease_seconds } : {}),
      progress,
      signal,
      phase: (phase) => {
        timings[phase] = deps.now().toISOString();
      },
      checkpoint: async (partial) => {
        record = await save({ ...record, handle: partial });
      },
    };
    handle = await (steps.make ?? ((e, r) => e.provision(r)))(extension, request);
    record = await save({ ...record, handle, provisioned_at: deps.now().toISOString() });
    throwIfAborted(signal);
    step = 'wait_ready';
    progress?.(`sandbox ${id}: waiting until ready`);
    const reachability = await extension.waitReady(handle, { progress, signal });
    throwIfAborted(signal);
    if (plan.checks.length > 0) {
      await runChecks(extension, handle, { ...record, reachability }, plan, steps);
      throwIfAborted(signal);
    }
    const readyAt = deps.now().toISOString();
    record = await save({
      ...record,
      state: 'ready',
      reachability,
      ready_at: readyAt,
      timings: { ...timings, ready: readyAt },
      owner_pid: undefined,
    });
    progress?.(`sandbox ${id}: ${describeTimings(record.timings as CreateTimings)}`);
    return { ready: record };
  } catch (error) {
    return { error, step, handle: handle ?? record.handle, record };
  } finally {
    creating.abort();
  }
}

/**
 * The host's lease runs from the moment its switch is armed, early in provision: a create that takes
 * longer than the lease (a large sync, a slow `compose up`) renews it meanwhile, as its keeper will.
 * "Gone" is no answer yet (the switch may not be armed); failures are retried by keepLease.
 */
function renewWhileCreating(extension: SandboxExtension, record: SandboxRecord, signal: AbortSignal): void {
  const renew = extension.renewLease?.bind(extension);
  if (record.lease_seconds === undefined || !renew) return;
  keepLease({
    leaseSeconds: record.lease_seconds,
    renew: async () => {
      await renew(minimalHandle(record));
      return true;
    },
    signal,
    delayFirst: true,
  });
}

/** The plan's readiness checks, through one connection to the sandbox's host (closed after). */
async function runChecks(
  extension: SandboxExtension,
  handle: SandboxHandle,
  record: SandboxRecord,
  plan: CreatePlan,
  steps: CreateSteps,
): Promise<void> {
  let channel: SandboxChannel | undefined;
  const open = async () => {
    if (channel?.alive) return channel;
    if (!extension.openChannel) throw new UnsupportedError(`${extension.id} cannot reach a sandbox's ports`);
    channel = await extension.openChannel(handle);
    return channel;
  };
  const log = async (service: string) => {
    if (!extension.logs) throw new UnsupportedError(`${extension.id} cannot read a service's log`);
    let text = '';
    await extension.logs(handle, {
      lines: 500,
      maxBytes: 256 * 1024,
      services: [service],
      write: (_s, t) => (text += t),
    });
    return text;
  };
  steps.progress?.(`sandbox ${record.id}: checking ${plan.checks.map((c) => c.text).join(', ')}`);
  try {
    await waitForChecks(
      record,
      plan.checks,
      { channel: open, log },
      {
        timeoutSeconds: plan.checkTimeoutSeconds,
        ...(steps.progress ? { progress: steps.progress } : {}),
        ...(steps.signal ? { signal: steps.signal } : {}),
      },
    );
  } finally {
    channel?.close();
  }
}
