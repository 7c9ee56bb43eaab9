import { InputError, messageOf, SandboxerError, StateUnavailableError } from '../../errors.js';

/** Connection settings of a `postgres://` state URL, and the errors of a connection, in our terms. */

/** True for the values `--state` takes as a database rather than a directory. */
export function isPostgresUrl(value: string): boolean {
  return /^postgres(ql)?:\/\//i.test(value);
}

/** The URL as messages may show it: no password, no query string (it may carry one too). */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    parsed.password = '';
    parsed.search = '';
    return parsed.toString().replace(/:@/, '@');
  } catch {
    return 'postgres://(unparsable URL)';
  }
}

/** Checks the URL before any connection is tried; the error names the flag's field. */
export function checkPostgresUrl(url: string): void {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new InputError(`state: ${redactUrl(url)} is not a valid postgres:// URL`, { field: 'state' });
  }
  if (!parsed.hostname || parsed.pathname.length <= 1) {
    throw new InputError(
      `state: expected postgres://user:password@host[:port]/database, got ${redactUrl(url)}`,
      { field: 'state' },
    );
  }
}

/** SQLSTATE classes and socket errors that mean "the database is not there right now". */
const UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  '57P01', // admin_shutdown
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now (starting up, shutting down)
  '53300', // too_many_connections
]);

/**
 * A driver error as one of ours: the database being away is StateUnavailableError (HTTP 503, CLI
 * exit 11: retry), anything else passes through. Messages name the database without its password.
 */
export function translatePgError(error: unknown, location: string): unknown {
  if (error instanceof SandboxerError) return error;
  const code = (error as { code?: string }).code ?? '';
  const message = messageOf(error);
  if (
    UNAVAILABLE_CODES.has(code) ||
    code.startsWith('08') ||
    /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error/i.test(
      message,
    )
  ) {
    return new StateUnavailableError(
      `the state database ${location} is not reachable (${message}); nothing was changed: try again when it is back`,
      { state: location },
      { cause: error },
    );
  }
  return error;
}
