import { randomUUID } from 'node:crypto';
import { type ErrorCode, inTermsOf, messageOf, SandboxerError, type SurfaceTerms } from '@sand-boxer/core';
import type { ContentfulStatusCode } from 'hono/utils/http-status';

interface ErrorFields {
  code: string;
  message: string;
  details: Record<string, unknown>;
}

/**
 * The JSON body of every error response: the typed error's stable code, its message and details,
 * and the same again in `error`, the shape the CLI's `--json` prints (see error-envelope.ts).
 */
export interface ErrorBody extends ErrorFields {
  error: ErrorFields;
}

/** A body of the error shape from its fields. */
export function errorBody(fields: ErrorFields): ErrorBody {
  return { ...fields, error: { ...fields } };
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
  STATE_UNAVAILABLE: 503,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
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
const BODY_FIELDS = new Set([
  'ttl',
  'host',
  'name',
  'profile',
  'mode',
  'sandbox',
  'amount',
  'note',
  'consumer',
  'account',
]);
const httpTerms: SurfaceTerms = {
  field: (name) =>
    BODY_FIELDS.has(name)
      ? `"${name}"`
      : ['ssh_key', 'host_key', 'hosts_file'].includes(name)
        ? "the server's hosts file"
        : undefined,
  inputs: (names) => `set ${names.map((n) => `"${n}"`).join(' or ')} in the request's "inputs"`,
};

/** What never leaves the server in an error body, and where the whole story goes instead. */
export interface ErrorPolicy {
  /** Server paths (state directory, repo root…) and the label that replaces each in a client's view. */
  redact?: ReadonlyArray<readonly [path: string, label: string]>;
  /** The server log: an unexpected error is written here in full, under the id the client gets. */
  log?: (line: string) => void;
}

export type ErrorResponse = { status: ContentfulStatusCode; body: ErrorBody };

/**
 * The HTTP status and JSON body for an error. A typed error keeps its code and says how to fix the
 * request in the API's terms, with the server's own paths replaced by labels; anything else is a
 * generic 500 with an id, and the server log has the details (a stack trace reveals too much).
 */
export function errorResponse(error: unknown, policy: ErrorPolicy = {}): ErrorResponse {
  if (error instanceof SandboxerError) {
    // Core names the field at fault; the client is told where it goes in a request.
    const message = inTermsOf(error, httpTerms);
    return {
      status: STATUS[error.code] ?? 500,
      body: redacted(errorBody({ code: error.code, message, details: error.details }), policy.redact ?? []),
    };
  }
  const id = randomUUID().slice(0, 8);
  policy.log?.(`error ${id}: ${error instanceof Error ? (error.stack ?? error.message) : messageOf(error)}`);
  return {
    status: 500,
    body: errorBody({
      code: 'INTERNAL',
      message: `internal error ${id} (the server's log has the details)`,
      details: { id },
    }),
  };
}

/** The body with every occurrence of a redacted path replaced by its label, in the message and details. */
function redacted(body: ErrorBody, redact: ReadonlyArray<readonly [string, string]>): ErrorBody {
  if (redact.length === 0) return body;
  // Longest first, so a path inside another (the state directory under a home) is replaced whole.
  const pairs = [...redact].filter(([path]) => path.length > 1).sort((a, b) => b[0].length - a[0].length);
  const scrub = (text: string) => pairs.reduce((t, [path, label]) => t.split(path).join(label), text);
  return JSON.parse(scrub(JSON.stringify(body))) as ErrorBody;
}
