import type { SandboxHandle } from '../records/handle.js';
import type { SandboxRecord } from '../records/sandbox.js';

/** The lock every operation on one sandbox holds (create, destroy, extend, snapshot, restore). */
export function lockKey(id: string): string {
  return `sandbox-${id}`;
}

/** Enough for an extension to find and remove whatever a half-finished provision made. */
export function minimalHandle(record: SandboxRecord): SandboxHandle {
  return { sandbox_id: record.id, host: record.host, ...(record.target ? { target: record.target } : {}) };
}
