import type { SandboxManager, SandboxRecord, SnapshotRecord } from '@sand-boxer/core';
import type { Context } from 'hono';
import type { Principal } from './auth/principal.js';
import { visibleSandbox, visibleSnapshot } from './auth/scope.js';
import type { ErrorResponse } from './http-errors.js';
import type { Operation, Operations } from './operations.js';

/** A sandbox record as the API returns it: with the server's operation on it, if any. */
export type SandboxView = SandboxRecord & { operation?: Operation };

/** What the middleware leaves on every /v1 request: who it acts for. */
export type AppEnv = { Variables: { principal: Principal } };

/** What every route module works with. */
export interface RouteContext {
  manager: SandboxManager;
  operations: Operations;
  view: (record: SandboxRecord) => SandboxView;
  /** The status and body for an error, with the server's paths redacted (see http-errors.ts). */
  respond: (error: unknown) => ErrorResponse;
}

export function principalOf(c: Context<AppEnv>): Principal {
  return c.get('principal');
}

/** A sandbox the request's principal may see (else NOT_FOUND, as for one that does not exist). */
export async function sandboxFor(
  c: Context<AppEnv>,
  manager: SandboxManager,
  id: string,
): Promise<SandboxRecord> {
  return visibleSandbox(principalOf(c), await manager.get(id), id);
}

/** A snapshot the request's principal may see (by id or name). */
export async function snapshotFor(
  c: Context<AppEnv>,
  manager: SandboxManager,
  ref: string,
): Promise<SnapshotRecord> {
  return visibleSnapshot(principalOf(c), await manager.snapshots.get(ref), ref);
}
