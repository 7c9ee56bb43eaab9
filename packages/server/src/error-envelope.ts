import type { MiddlewareHandler } from 'hono';

/**
 * One error shape for every surface: the CLI's `--json` prints `{"error": {code, message, details}}`,
 * so every JSON error response here carries the same `error` object too, next to the top-level
 * `code`, `message` and `details` that clients already read. A script reads `.error.code` from either.
 */
export function errorEnvelope(): MiddlewareHandler {
  return async (c, next) => {
    await next();
    const res = c.res;
    if (res.status < 400 || !res.headers.get('content-type')?.includes('application/json')) return;
    const body = (await res
      .clone()
      .json()
      .catch(() => undefined)) as Record<string, unknown> | undefined;
    if (!body || typeof body.code !== 'string' || 'error' in body) return;
    const { code, message, details } = body;
    const headers = new Headers(res.headers);
    headers.delete('content-length');
    c.res = new Response(JSON.stringify({ ...body, error: { code, message, details } }), {
      status: res.status,
      headers,
    });
  };
}
