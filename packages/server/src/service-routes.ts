import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import { DOCUMENT_CONFIG } from './openapi-document.js';
import type { Operations } from './operations.js';
import type { AppEnv } from './route-context.js';
import { json, serverError } from './route-helpers.js';

/** Kept at this path since the first release: clients and the docs link it. */
const DOCUMENT_PATH = '/openapi.json';

const healthSchema = z
  .object({
    ok: z.literal(true),
    in_flight: z.number().int().min(0).openapi({ description: 'operations the server is running' }),
  })
  .openapi('Health');

/** Enough of an OpenAPI document to recognise one; the rest is the document itself. */
const documentSchema = z
  .looseObject({
    openapi: z.string().openapi({ example: '3.1.0' }),
    info: z.looseObject({ title: z.string(), version: z.string() }),
    paths: z.record(z.string(), z.unknown()),
  })
  .openapi('OpenAPIDocument');

/**
 * The server's own routes, outside /v1: liveness for load balancers and this document. They need
 * no token and skip the Host check (app.ts registers them before that middleware), so a probe on
 * any address works.
 */
export function registerServiceRoutes(app: OpenAPIHono<AppEnv>, operations: Operations): void {
  app.openapi(
    createRoute({
      method: 'get',
      path: '/healthz',
      operationId: 'getHealth',
      tags: ['service'],
      summary: 'Liveness, and how many operations are in flight',
      security: [],
      responses: { 200: json(healthSchema, 'the server is up'), 500: serverError },
    }),
    (c) => c.json({ ok: true as const, in_flight: operations.inFlight }, 200),
  );

  app.openAPIRegistry.registerComponent('securitySchemes', 'bearer', { type: 'http', scheme: 'bearer' });
  // doc31 adds a plain route; its entry in the document is registered by hand.
  app.openAPIRegistry.registerPath({
    method: 'get',
    path: DOCUMENT_PATH,
    operationId: 'getOpenApiDocument',
    tags: ['service'],
    summary: 'This OpenAPI 3.1 document',
    security: [],
    responses: { 200: json(documentSchema, 'the document'), 500: serverError },
  });
  app.doc31(DOCUMENT_PATH, DOCUMENT_CONFIG);
}
