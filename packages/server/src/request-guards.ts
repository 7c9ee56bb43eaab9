import type { MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { Operations } from './operations.js';

/** The checks every request passes before a route sees it, each answering with the API's error body. */

const refuse = (code: string, message: string) => ({ code, message, details: {} });

/**
 * Without tokens the server is loopback-only; checking the Host header also stops pages that a
 * DNS-rebinding attack points at 127.0.0.1.
 */
export function loopbackHostOnly(): MiddlewareHandler {
  return async (c, next) => {
    const host = (c.req.header('host') ?? '').replace(/:\d+$/, '');
    if (!['127.0.0.1', 'localhost', '[::1]'].includes(host)) {
      return c.json(refuse('FORBIDDEN', `Host "${host}" is not a loopback name`), 403);
    }
    return next();
  };
}

/** New work is refused while the server drains for shutdown (reads still answer). */
export function refuseWhileDraining(operations: Operations): MiddlewareHandler {
  return async (c, next) => {
    if (operations.draining && c.req.method !== 'GET') {
      return c.json(refuse('INTERRUPTED', 'the server is shutting down; retry on another instance'), 503);
    }
    return next();
  };
}

const WITH_BODY = new Set(['POST', 'PUT', 'PATCH']);

/**
 * Requests that carry a body must say it is JSON. A web page can send a cross-site POST without a
 * preflight only with a "simple" content type (text/plain, forms), so this also keeps a browser
 * that can reach the server from acting on it for a page.
 */
export function requireJson(): MiddlewareHandler {
  return async (c, next) => {
    if (!WITH_BODY.has(c.req.method)) return next();
    const type = (c.req.header('content-type') ?? '').split(';')[0]?.trim().toLowerCase();
    if (type !== 'application/json') {
      return c.json(
        refuse(
          'UNSUPPORTED_MEDIA_TYPE',
          `a ${c.req.method} body must be JSON: send "Content-Type: application/json" (got ${type ? `"${type}"` : 'none'})`,
        ),
        415,
      );
    }
    return next();
  };
}

/** Bodies larger than `maxBytes` are refused (413) before they are read into memory. */
export function limitBody(maxBytes: number): MiddlewareHandler {
  return bodyLimit({
    maxSize: maxBytes,
    onError: (c) =>
      c.json(
        refuse(
          'PAYLOAD_TOO_LARGE',
          `the request body is larger than ${maxBytes} bytes (see serve --body-limit)`,
        ),
        413,
      ),
  });
}
