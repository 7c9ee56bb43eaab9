import {
  type ErrorCode,
  InputError,
  InterruptedError,
  messageOf,
  SandboxerError,
  StateUnavailableError,
} from '@sand-boxer/core';

/** One server: its URL and the token every request carries. */
export interface ServerSettings {
  url: string;
  /** A bearer token, or an OIDC token (the action's `core.getIDToken`). */
  token?: string;
}

/** Error codes a server answers with that are ours; any other is the request's fault or the server's. */
const CODES = new Set<string>([
  'CONFIG_INVALID',
  'INPUT_INVALID',
  'NOT_FOUND',
  'PROVISION_FAILED',
  'TEARDOWN_FAILED',
  'STATE_CONFLICT',
  'STATE_CORRUPT',
  'STATE_UNAVAILABLE',
  'INTERRUPTED',
  'SSH_FAILED',
  'REMOTE_COMMAND_FAILED',
  'INSUFFICIENT_CREDITS',
  'NO_BACKEND_AVAILABLE',
  'UNSUPPORTED',
  'SNAPSHOT_FAILED',
  'SNAPSHOT_CORRUPT',
  'UNAUTHORIZED',
  'FORBIDDEN',
] satisfies ErrorCode[]);

/** A server's typed error, with the code it had there: exit codes and messages are the same as local. */
export class RemoteError extends SandboxerError {}

/** The error a server's error body stands for (`{code, message, details}`). */
export function reviveError(status: number, body: unknown): Error {
  const { code, message, details } = (body ?? {}) as { code?: string; message?: string; details?: unknown };
  const text = message ?? `the server answered ${status}`;
  const fields = typeof details === 'object' && details !== null ? (details as Record<string, unknown>) : {};
  if (code && CODES.has(code)) return new RemoteError(code as ErrorCode, text, fields);
  // The request's own fault (a body too large, not JSON): a usage error, as it would be locally.
  if (status >= 400 && status < 500) return new InputError(text, fields);
  return new Error(`the server failed (${status}): ${text}`);
}

export interface RequestOptions {
  body?: unknown;
  query?: Record<string, string | string[] | undefined>;
  /** Reads the answer as text (exports, logs) rather than JSON. */
  text?: boolean;
  signal?: AbortSignal;
}

/** JSON over HTTP to one server, with its errors in our terms. */
export class ServerConnection {
  readonly url: string;
  readonly #token: string | undefined;

  constructor(settings: ServerSettings) {
    let parsed: URL;
    try {
      parsed = new URL(settings.url);
    } catch {
      throw new InputError(
        `server: expected a URL such as https://sandboxer.example.com, got ${JSON.stringify(settings.url)}`,
        {
          field: 'server',
        },
      );
    }
    if (!/^https?:$/.test(parsed.protocol)) {
      throw new InputError(`server: expected an http(s):// URL, got ${JSON.stringify(settings.url)}`, {
        field: 'server',
      });
    }
    this.url = parsed.toString().replace(/\/$/, '');
    this.#token = settings.token;
  }

  async request<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    const url = new URL(`${this.url}${path}`);
    for (const [key, value] of Object.entries(options.query ?? {})) {
      for (const one of [value ?? []].flat()) url.searchParams.append(key, one);
    }
    let response: Response;
    try {
      response = await fetch(url, {
        method,
        headers: {
          ...(this.#token ? { authorization: `Bearer ${this.#token}` } : {}),
          ...(options.body !== undefined ? { 'content-type': 'application/json' } : {}),
        },
        ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
        ...(options.signal ? { signal: options.signal } : {}),
      });
    } catch (error) {
      if (options.signal?.aborted) throw new InterruptedError('interrupted');
      const cause = (error as { cause?: unknown }).cause;
      throw new StateUnavailableError(
        `the sand-boxer server at ${this.url} is not reachable (${messageOf(cause ?? error)}); try again when it is back`,
        { server: this.url },
        { cause: error },
      );
    }
    const text = await response.text();
    if (!response.ok) {
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch {
        body = { message: text.slice(0, 500) };
      }
      throw reviveError(response.status, body);
    }
    if (options.text) return text as T;
    return (text ? JSON.parse(text) : undefined) as T;
  }
}
