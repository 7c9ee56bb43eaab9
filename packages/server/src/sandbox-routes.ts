import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import { type CreateRequest, parseSandboxId, type SandboxRecord, StateConflictError } from '@sand-boxer/core';
import type { Operation } from './operations.js';
import type { RouteContext } from './route-context.js';
import { errorSchema, errors, json } from './route-helpers.js';
import { accountField, idParam, inputsField, nameField, sandboxSchema, ttlField } from './schemas.js';

const createBodySchema = z
  .strictObject({
    profile: nameField().openapi({ example: 'saas-stub' }),
    inputs: inputsField.optional().openapi({ example: { repo: '.' } }),
    consumer: accountField.optional(),
    account: accountField.optional(),
    host: nameField(255).optional(),
    ttl: ttlField.optional().openapi({ example: '30m' }),
    wait_for: z.array(z.string().min(1).max(2048)).max(50).optional().openapi({
      description:
        "Readiness checks on top of the profile's: http://web:8080/health, tcp://db:5432, log://worker/ready/",
    }),
  })
  .openapi('CreateSandbox');

/**
 * Sandboxes: create (answered as soon as the sandbox is recorded, the work going on in the server),
 * list, show, destroy. Inputs and hosts are checked by core as the manager was opened (confined).
 */
export function registerSandboxRoutes(app: OpenAPIHono, context: RouteContext): void {
  const { manager, operations, view, respond } = context;

  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/sandboxes',
      summary: 'Create a sandbox',
      description:
        'Answers 202 with a Location to poll as soon as the sandbox is recorded; the work goes on in the server. With ?wait=true, answers when it is ready (201) or failed.',
      request: {
        body: { content: { 'application/json': { schema: createBodySchema } }, required: true },
        query: z.object({ wait: z.enum(['true', 'false']).optional() }),
      },
      responses: {
        201: json(sandboxSchema, 'ready (with ?wait=true)'),
        202: json(sandboxSchema, 'accepted: poll the Location'),
        ...errors,
        402: json(errorSchema, 'insufficient credits'),
        502: json(errorSchema, 'provisioning failed (rolled back)'),
        503: json(errorSchema, 'no backend available'),
      },
    }),
    async (c) => {
      const body = c.req.valid('json');
      const wait = c.req.valid('query').wait === 'true';
      const controller = new AbortController();
      let operation: Operation | undefined;
      let announce: (record: SandboxRecord) => void = () => {};
      const first = new Promise<SandboxRecord>((resolve) => {
        announce = resolve;
      });
      const { wait_for: waitFor, ...rest } = body;
      const request: CreateRequest = { ...rest, ...(waitFor ? { waitFor } : {}) };
      const work = operations.track(
        manager.create(request, {
          signal: controller.signal,
          progress: (message) => operations.note(operation, message),
          onRecord: (record) => {
            operation ??= operations.begin(record.id, 'create');
            announce(record);
          },
        }),
        controller,
      );
      work.then(
        () => operations.finish(operation),
        (error) => operations.finish(operation, respond(error).body),
      );
      const outcome = await Promise.race([
        first.then((record) => ({ record })),
        work.then(
          (record) => ({ record }),
          (error: unknown) => ({ error }),
        ),
      ]);
      if ('error' in outcome) {
        const { status, body: errorBody } = respond(outcome.error);
        return c.json(errorBody, status as 400);
      }
      const location = `/v1/sandboxes/${outcome.record.id}`;
      if (!wait) return c.json(view(outcome.record), 202, { Location: location });
      try {
        return c.json(view(await work), 201, { Location: location });
      } catch (error) {
        const { status, body: errorBody } = respond(error);
        return c.json(errorBody, status as 400, { Location: location });
      }
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/sandboxes',
      summary: 'List sandboxes',
      request: { query: z.object({ all: z.enum(['true', 'false']).optional() }) },
      responses: {
        200: json(z.array(sandboxSchema), 'live sandboxes (all with ?all=true)'),
        401: errors[401],
      },
    }),
    async (c) => c.json((await manager.list({ all: c.req.valid('query').all === 'true' })).map(view), 200),
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/sandboxes/{id}',
      summary: "A sandbox's record and the server's operation on it",
      request: { params: idParam },
      responses: { 200: json(sandboxSchema, 'the record'), ...errors },
    }),
    async (c) => c.json(view(await manager.get(c.req.valid('param').id)), 200),
  );

  app.openapi(
    createRoute({
      method: 'delete',
      path: '/v1/sandboxes/{id}',
      summary: 'Destroy a sandbox (idempotent)',
      request: { params: idParam },
      responses: {
        200: json(sandboxSchema, 'destroyed'),
        ...errors,
        409: json(errorSchema, 'another operation holds the sandbox'),
        502: json(errorSchema, 'teardown failed; it stays destroying'),
      },
    }),
    async (c) => {
      const id = parseSandboxId(c.req.valid('param').id);
      const running = operations.get(id);
      if (running?.status === 'running') {
        throw new StateConflictError(`sandbox ${id} has a ${running.kind} running; retry when it is done`, {
          sandbox: id,
        });
      }
      const operation = operations.begin(id, 'destroy');
      const controller = new AbortController();
      try {
        const record = await operations.track(
          manager.destroy(id, { progress: (m) => operations.note(operation, m), signal: controller.signal }),
          controller,
        );
        operations.finish(operation);
        return c.json(view(record), 200);
      } catch (error) {
        operations.finish(operation, respond(error).body);
        throw error;
      }
    },
  );
}
