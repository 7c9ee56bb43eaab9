import {
  InterruptedError,
  messageOf,
  ProvisionError,
  SandboxerError,
  SshError,
  UnsupportedError,
} from '../errors.js';
import type {
  ProgressFn,
  ProvisionRequest,
  SandboxChannel,
  SandboxExtension,
} from '../extensions/contract.js';
import { waitForChecks } from '../reach/checks.js';
import type { CleanupReport, SandboxHandle } from '../records/handle.js';
import type { SandboxRecord } from '../records/sandbox.js';
import type { RoutingChoice } from '../routing/resolver.js';
import { newSandboxId } from '../util/ids.js';
import {
  errorOf,
  HOLD_GRACE_MS,
  holdOf,
  lockKey,
  minimalHandle,
  ROUTE_LOCK,
  throwIfAborted,
} from './keys.js';
import type { CreatePlan } from './plan.js';
import { type CreateSteps, type LifecycleDeps, saveRecord } from './types.js';

/**
 * Records the sandbox as `provisioning` before any backend call (routing and that first record under
 * one lock, so capacities count it), so a crash at any later point leaves a trace to clean up; then
 * provisions and waits until ready. A failure rolls back at once and leaves the sandbox `failed`.
 */
export async function createSandbox(
  deps: LifecycleDeps,
  plan: CreatePlan,
  steps: CreateSteps,
): Promise<SandboxRecord> {
  const { progress, signal } = steps;
  const save = async (next: SandboxRecord) => {
    const saved = await saveRecord(deps, next);
    await steps.onRecord?.(saved);
    return saved;
  };
  const id = newSandboxId();
  return deps.store.withLock(lockKey(id), async () => {
    const { record: first, choice } = await deps.store.withLock(ROUTE_LOCK, () =>
      routeAndRecord(deps, plan, id, save),
    );
    let record = first;
    for (const rejected of record.routing ?? []) {
      progress?.(
        `routing: skipped ${rejected.extension} on ${rejected.host}: ${rejected.reasons.join('; ')}`,
      );
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
    try {
      throwIfAborted(signal);
      const request: ProvisionRequest = {
        sandboxId: id,
        profile: plan.profile,
        inputs: choice.inputs,
        host: choice.host,
        createdAt: new Date(record.created_at),
        expiresAt: new Date(record.expires_at),
        progress,
        signal,
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
      record = await save({
        ...record,
        state: 'ready',
        reachability,
        ready_at: deps.now().toISOString(),
        owner_pid: undefined,
      });
      progress?.(`sandbox ${id}: ready`);
      return record;
    } catch (error) {
      const cause = signal?.aborted ? new InterruptedError(`interrupted during ${step}`) : error;
      // The final handle, else what provision checkpointed, else the minimal handle.
      const failed = await rollback(deps, record, extension, handle ?? record.handle, step, cause, progress);
      await steps.onRecord?.(failed);
      throw failure(failed, step, cause);
    }
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

/** Routing and the first record, under the route lock (see createSandbox). */
async function routeAndRecord(
  deps: LifecycleDeps,
  plan: CreatePlan,
  id: string,
  save: (record: SandboxRecord) => Promise<SandboxRecord>,
): Promise<{ record: SandboxRecord; choice: RoutingChoice }> {
  const createdAt = deps.now();
  const expiresAt = new Date(createdAt.getTime() + plan.ttlSeconds * 1000);
  const catalog = await deps.catalog();
  const choice = await deps.router(catalog).choose(plan, {
    sandboxId: id,
    holdUntil: new Date(expiresAt.getTime() + HOLD_GRACE_MS),
  });
  const rejected = choice.decision.candidates.filter((c) => !c.feasible);
  const record: SandboxRecord = {
    id,
    state: 'provisioning',
    profile: plan.profile.id,
    extension: choice.extension.id,
    host: choice.host?.name ?? 'local',
    consumer: plan.consumer,
    account: plan.account,
    created_at: createdAt.toISOString(),
    updated_at: createdAt.toISOString(),
    expires_at: expiresAt.toISOString(),
    ttl_seconds: plan.ttlSeconds,
    ...(choice.host ? { target: choice.host } : {}),
    ...(plan.restore ? { restored_from: plan.restore.snapshot } : {}),
    ...(choice.report.estimate ? { estimate: choice.report.estimate } : {}),
    ...(choice.hold ? { hold: choice.hold.id } : {}),
    ...(rejected.length > 0
      ? { routing: rejected.map((c) => ({ extension: c.extension, host: c.host, reasons: c.reasons })) }
      : {}),
    owner_pid: process.pid,
  };
  try {
    return { record: await save(record), choice };
  } catch (error) {
    // Writing the record or the caller's onRecord failed: nothing was provisioned, so give the hold
    // back and leave no `provisioning` record that would count against capacity.
    if (choice.hold) await deps.ledger.release(choice.hold, 'the sandbox record could not be saved');
    await deps.store
      .putSandbox({ ...record, state: 'failed', error: errorOf('record', error), owner_pid: undefined })
      .catch(() => {});
    throw error;
  }
}

/** Undo a half-made sandbox; a rollback problem is recorded, never allowed to hide the first error. */
async function rollback(
  deps: LifecycleDeps,
  record: SandboxRecord,
  extension: SandboxExtension,
  handle: SandboxHandle | undefined,
  step: string,
  cause: unknown,
  progress: ProgressFn | undefined,
): Promise<SandboxRecord> {
  progress?.(`sandbox ${record.id}: ${step} failed, rolling back`);
  let cleanup: CleanupReport;
  try {
    cleanup =
      cause instanceof SshError && cause.phase === 'connect' && handle === undefined
        ? { removed: [], leftovers: [], already_gone: true } // never reached the host: nothing to undo
        : await extension.teardown(handle ?? minimalHandle(record), { progress });
  } catch (error) {
    cleanup = { removed: [], leftovers: [`rollback failed: ${messageOf(error)}`], already_gone: false };
  }
  // A sandbox that never became ready is not charged: its hold goes back in full.
  const hold = holdOf(record);
  if (hold) await deps.ledger.release(hold, `${step} failed`);
  return saveRecord(deps, {
    ...record,
    state: 'failed',
    error: errorOf(step, cause),
    cleanup,
    destroyed_at: deps.now().toISOString(),
    owner_pid: undefined,
  });
}

/** The error a failed create reports, once it is rolled back. */
function failure(failed: SandboxRecord, step: string, cause: unknown): Error {
  const id = failed.id;
  if (cause instanceof InterruptedError) {
    return new InterruptedError(`sandbox ${id}: interrupted during ${step}; rolled back`, {
      sandbox: id,
      step,
    });
  }
  const undone = failed.cleanup?.leftovers.length
    ? `rollback incomplete: ${failed.cleanup.leftovers.join('; ')}; gc removes the rest once the host answers`
    : 'rolled back';
  return new ProvisionError(
    `sandbox ${id}: ${step} failed: ${messageOf(cause)} (${undone}; its record says what happened)`,
    { sandbox: id, step, ...(cause instanceof SandboxerError ? { cause: cause.toJSON() } : {}) },
    { cause },
  );
}
