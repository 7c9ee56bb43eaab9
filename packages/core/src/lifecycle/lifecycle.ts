import type { SandboxChannel, SandboxExtension } from '../extensions/contract.js';
import type { SandboxRecord } from '../records/sandbox.js';
import { getRecord } from '../state/lookup.js';
import { createSandbox } from './create.js';
import { destroySandbox } from './destroy.js';
import { extendSandbox } from './extend.js';
import { lockKey } from './keys.js';
import { renewLease } from './lease.js';
import type { CreatePlan } from './plan.js';
import { type CreateSteps, type DestroySteps, type LifecycleDeps, saveRecord } from './types.js';

/**
 * One sandbox's life, under its lock: create (route, record, provision, wait ready, roll back on
 * failure), extend, destroy (teardown, meter, settle). The manager, gc and snapshots all go through
 * here, so a state change is made and saved one way only.
 */
export class SandboxLifecycle {
  readonly deps: LifecycleDeps;

  constructor(deps: LifecycleDeps) {
    this.deps = deps;
  }

  create(plan: CreatePlan, steps: CreateSteps = {}): Promise<SandboxRecord> {
    return createSandbox(this.deps, plan, steps);
  }

  destroy(id: string, steps: DestroySteps = {}): Promise<SandboxRecord> {
    return destroySandbox(this.deps, id, steps);
  }

  extend(id: string, ttl: string | number): Promise<SandboxRecord> {
    return extendSandbox(this.deps, id, ttl);
  }

  /** Renews a ready sandbox's lease (see lease.ts); false once it is gone where the lease is kept. */
  renewLease(id: string, channel?: SandboxChannel): Promise<boolean> {
    return renewLease(this.deps, id, channel);
  }

  /** The record of one sandbox, in whatever state it is. */
  get(id: string): Promise<SandboxRecord> {
    return getRecord(this.deps.store, id);
  }

  save(record: SandboxRecord): Promise<SandboxRecord> {
    return saveRecord(this.deps, record);
  }

  /** Changes one sandbox's record under its lock (read, change, save). */
  update(id: string, change: (record: SandboxRecord) => SandboxRecord): Promise<SandboxRecord> {
    return this.deps.store.withLock(lockKey(id), async () =>
      saveRecord(this.deps, change(await this.get(id))),
    );
  }

  extension(id: string): Promise<SandboxExtension> {
    return this.deps.extension(id);
  }
}
