import type { SandboxManager, SandboxRecord } from '@sand-boxer/core';
import type { ErrorResponse } from './http-errors.js';
import type { Operation, Operations } from './operations.js';

/** A sandbox record as the API returns it: with the server's operation on it, if any. */
export type SandboxView = SandboxRecord & { operation?: Operation };

/** What every route module works with. */
export interface RouteContext {
  manager: SandboxManager;
  operations: Operations;
  view: (record: SandboxRecord) => SandboxView;
  /** The status and body for an error, with the server's paths redacted (see http-errors.ts). */
  respond: (error: unknown) => ErrorResponse;
}
