import { type ErrorCode, inTermsOf, messageOf, SandboxerError, type SurfaceTerms } from '@sand-boxer/core';
import type { ContentfulStatusCode } from 'hono/utils/http-status';

/** The JSON body of every error response: the typed error's stable code, its message and details. */
export interface ErrorBody {
  code: string;
  message: string;
  details: Record<string, unknown>;
}

/** The HTTP surface is an outer layer: only here do typed error codes become statuses. */
const STATUS: Record<ErrorCode, ContentfulStatusCode> = {
  CONFIG_INVALID: 400,
  INPUT_INVALID: 400,
  NOT_FOUND: 404,
  PROVISION_FAILED: 502,
  TEARDOWN_FAILED: 502,
  STATE_CONFLICT: 409,
  STATE_CORRUPT: 500,
  INTERRUPTED: 503,
  SSH_FAILED: 502,
  REMOTE_COMMAND_FAILED: 502,
  INSUFFICIENT_CREDITS: 402,
  NO_BACKEND_AVAILABLE: 503,
  UNSUPPORTED: 422,
  SNAPSHOT_FAILED: 502,
  SNAPSHOT_CORRUPT: 422,
};

/** Request fields as a client of the API sets them: in the JSON body, or on the server. */
const BODY_FIELDS = new Set(['ttl', 'host', 'name', 'profile', 'mode', 'sandbox']);
const httpTerms: SurfaceTerms = {
  field: (name) =>
    BODY_FIELDS.has(name)
      ? `"${name}"`
      : ['ssh_key', 'host_key', 'hosts_file'].includes(name)
        ? "the server's hosts file"
        : undefined,
  inputs: (names) => `set ${names.map((n) => `"${n}"`).join(' or ')} in the request's "inputs"`,
};

export function errorResponse(error: unknown): { status: ContentfulStatusCode; body: ErrorBody } {
  if (error instanceof SandboxerError) {
    // Core names the field at fault; the client is told where it goes in a request.
    return {
      status: STATUS[error.code] ?? 500,
      body: { ...error.toJSON(), message: inTermsOf(error, httpTerms) },
    };
  }
  return {
    status: 500,
    body: { code: 'INTERNAL', message: `unexpected error: ${messageOf(error)}`, details: {} },
  };
}
