import type { ErrorCode } from '@sand-boxer/core';

/**
 * Exit codes scripts can rely on (documented in docs/cli.md). Only this module maps typed errors to
 * them; everything below the CLI throws errors with a `code`.
 */
export const EXIT = {
  ok: 0,
  internal: 1,
  usage: 2,
  notFound: 3,
  provisionFailed: 4,
  teardownFailed: 5,
  conflict: 6,
  insufficientCredits: 7,
  noBackend: 8,
  snapshotFailed: 9,
  snapshotCorrupt: 10,
  /** The shared state store (PostgreSQL) could not be reached; nothing was decided: retry. */
  stateUnavailable: 11,
  /** The server refused the token (missing, wrong) or what it allows (another account's sandbox). */
  notAllowed: 12,
  /** exec and ssh: sandboxer itself failed, so the command did not run (as `docker exec` says it). */
  commandNotRun: 125,
  interrupted: 130,
} as const;

/**
 * exec and ssh exit with their command's own code, so their own failures (no such sandbox, not
 * ready, the host refused) must not look like one: thrown wrapped in this, they exit 125.
 */
export class CommandNotRun extends Error {
  constructor(readonly reason: unknown) {
    super('the command did not run');
  }
}

const BY_CODE: Record<ErrorCode, number> = {
  CONFIG_INVALID: EXIT.usage,
  INPUT_INVALID: EXIT.usage,
  NOT_FOUND: EXIT.notFound,
  PROVISION_FAILED: EXIT.provisionFailed,
  TEARDOWN_FAILED: EXIT.teardownFailed,
  STATE_CONFLICT: EXIT.conflict,
  STATE_CORRUPT: EXIT.internal,
  STATE_UNAVAILABLE: EXIT.stateUnavailable,
  UNAUTHORIZED: EXIT.notAllowed,
  FORBIDDEN: EXIT.notAllowed,
  INTERRUPTED: EXIT.interrupted,
  SSH_FAILED: EXIT.provisionFailed,
  REMOTE_COMMAND_FAILED: EXIT.provisionFailed,
  INSUFFICIENT_CREDITS: EXIT.insufficientCredits,
  NO_BACKEND_AVAILABLE: EXIT.noBackend,
  UNSUPPORTED: EXIT.usage,
  SNAPSHOT_FAILED: EXIT.snapshotFailed,
  SNAPSHOT_CORRUPT: EXIT.snapshotCorrupt,
};

export function exitCodeFor(code: ErrorCode): number {
  return BY_CODE[code] ?? EXIT.internal;
}
