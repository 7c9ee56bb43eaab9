import { createRoute, type RouteConfig, z } from '@hono/zod-openapi';
import type { Tag } from './openapi-document.js';

/** Pieces every route definition shares: the error body, response shapes, and what middleware adds. */

/** The body of every error response (http-errors.ts's ErrorBody), one component in the document. */
const errorFields = {
  code: z.string().openapi({ example: 'NOT_FOUND' }),
  message: z.string(),
  details: z.record(z.string(), z.unknown()),
};

/** `error` holds the same fields: the shape the CLI's `--json` prints (error-envelope.ts). */
export const errorSchema = z.object({ ...errorFields, error: z.object(errorFields) }).openapi('Error');

export const json = <T extends z.ZodType>(schema: T, description: string) => ({
  content: { 'application/json': { schema } },
  description,
});

/** An error response: the shared `Error` body, with what this status means on this operation. */
export const failure = (description: string) => json(errorSchema, description);

/** A create, restore or route naming an account the token may not spend from. */
export const foreignAccount = failure(
  "the token may not spend from the account named (a member: another account's)",
);

/** A create or restore that routing could not place. */
export const noBackend = failure('no backend can take it (NO_BACKEND_AVAILABLE)');

/** The error handler's 500s (http-errors.ts), which any operation may meet. */
export const serverError = failure(
  "the state cannot be trusted (STATE_CORRUPT, naming the file), or an unexpected error (INTERNAL: only an id, the server's log has the rest)",
);

/**
 * What app.ts's middleware and error handler may answer on any /v1 operation, before or after its
 * own code runs: they are documented here once, so no route can forget them and none claims a
 * status the server never sends (a GET never gets 413 or 415).
 */
function middlewareAnswers(
  route: Pick<RouteConfig, 'method' | 'request'>,
): Record<string, ReturnType<typeof failure>> {
  const write = route.method !== 'get';
  return {
    // Hono's validators and its JSON parser answer before the handler sees a bad request.
    ...(route.request
      ? {
          400: failure(
            'bad input (INPUT_INVALID): malformed JSON, a field that fails its schema, a value refused',
          ),
        }
      : {}),
    401: failure('no bearer token, or one the server does not know (when it has tokens)'),
    403: failure('a server without tokens got a Host header that is not a loopback name'),
    ...(route.method === 'post'
      ? {
          413: failure('the body is larger than the limit (serve --body-limit)'),
          415: failure('the request did not say "Content-Type: application/json"'),
        }
      : {}),
    500: serverError,
    503: failure(
      write
        ? 'the state store is unavailable, or the server is shutting down (retry on another replica)'
        : 'the state store is unavailable (retry)',
    ),
  };
}

/**
 * An operation under /v1: createRoute, requiring what the document needs to name and group it, and
 * adding the middleware's answers. Handlers are typed by the route's own responses only: the
 * middleware's are never theirs to return.
 */
export function apiRoute<
  P extends string,
  R extends Omit<RouteConfig, 'path'> & { path: P; operationId: string; tags: [Tag] },
>(route: R): ReturnType<typeof createRoute<P, R>> {
  const responses: RouteConfig['responses'] = middlewareAnswers(route);
  for (const [status, own] of Object.entries(route.responses)) {
    const shared = responses[status];
    // Both say when it happens: a 403 for a member's token, and the middleware's Host check.
    responses[status] =
      shared && 'description' in own && 'description' in shared
        ? { ...own, description: `${own.description}; or ${shared.description}` }
        : own;
  }
  return createRoute({ ...route, responses });
}
