import { type OpenAPIHono, z } from '@hono/zod-openapi';
import { type CreateRequest, parseSandboxId, type SandboxRecord, StateConflictError } from '@sand-boxer/core';
import { accountOfSandbox, canSee, spendingAccount } from './auth/scope.js';
import type { Operation } from './operations.js';
import { type AppEnv, principalOf, type RouteContext, sandboxFor } from './route-context.js';
import { apiRoute, failure, foreignAccount, json, noBackend } from './route-helpers.js';
import {
  accountField,
  idParam,
  inputsField,
  leaseField,
  nameField,
  sandboxSchema,
  ttlField,
} from './schemas.js';

const createBodySchema = z
  .strictObject({
    profile: nameField().openapi({ example: 'saas-stub' }),
    inputs: inputsField.optional().openapi({ example: { repo: '.' } }),
    consumer: accountField.optional(),
    account: accountField.optional(),
    host: nameField(255).optional(),
    ttl: ttlField.optional().openapi({ example: '30m' }),
    lease: leaseField.optional().openapi({
      description:
        'Ended when not renewed (POST /v1/sandboxes/{id}/lease) for this long, or at its TTL: `60s`, or 0 for none',
      example: '60s',
    }),
    wait_for: z.array(z.string().min(1).max(2048)).max(50).optional().openapi({
      description:
        "Readiness checks on top of the profile's: http://web:8080/health, tcp://db:5432, log://worker/ready/",
    }),
  })
  .openapi('CreateSandbox');

/** Where the new sandbox's record is: `/v1/sandboxes/{id}`. */
const locationHeader = z.object({
  Location: z
    .string()
    .openapi({ description: "the new sandbox's record", example: '/v1/sandboxes/k2j4h6g8f0d2' }),
});

/**
 * Sandboxes: create (answered as soon as the sandbox is recorded, the work going on in the server),
 * list, show, destroy. Inputs and hosts are checked by core as the manager was opened (confined).
 */
export function registerSandboxRoutes(app: OpenAPIHono<AppEnv>, context: RouteContext): void {
  const { manager, operations, view, respond } = context;

  app.openapi(
    apiRoute({
      method: 'post',
      path: '/v1/sandboxes',
      operationId: 'createSandbox',
      tags: ['sandboxes'],
      summary: 'Create a sandbox',
      description:
        'Answers 202 with a Location to poll as soon as the sandbox is recorded; the work goes on in the server. With ?wait=true, answers when it is ready (201) or failed.',
      request: {
        body: { content: { 'application/json': { schema: createBodySchema } }, required: true },
        query: z.object({ wait: z.enum(['true', 'false']).optional() }),
      },
      responses: {
        201: { ...json(sandboxSchema, 'ready (with ?wait=true)'), headers: locationHeader },
        202: { ...json(sandboxSchema, 'accepted: poll the Location'), headers: locationHeader },
        400: failure('inputs core refuses: a missing input, a repo outside the root, an inline host'),
        402: failure('the account cannot afford the estimate'),
        403: foreignAccount,
        404: failure('no such profile or extension'),
        422: failure('a wait_for check the extension cannot run'),
        502: failure('provisioning failed (rolled back)'),
        503: noBackend,
      },
    }),
    async (c) => {
      const body = c.req.valid('json');
      const wait = c.req.valid('query').wait === 'true';
      const controller = new AbortController();
      let operation: Operation | undefined;
      let announce: (record: SandboxRecord) => void = () => {};
      let sandboxId: string | undefined;
      const first = new Promise<SandboxRecord>((resolve) => {
        announce = resolve;
      });
      const { wait_for: waitFor, account: asked, ...rest } = body;
      const principal = principalOf(c);
      const account = spendingAccount(principal, asked);
      const request: CreateRequest = {
        ...rest,
        // A member's sandboxes are its account's, whoever it names as consumer.
        consumer: rest.consumer ?? account,
        ...(account ? { account } : {}),
        ...(waitFor ? { waitFor } : {}),
      };
      const work: Promise<SandboxRecord> = operations.track(
        manager.create(request, {
          signal: controller.signal,
          progress: (message) => operations.note(operation, message),
          onRecord: (record) => {
            operation ??= operations.begin(record.id, 'create');
            if (!sandboxId) {
              sandboxId = record.id;
              operations.track(work, controller, record.id);
            }
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
    apiRoute({
      method: 'get',
      path: '/v1/sandboxes',
      operationId: 'listSandboxes',
      tags: ['sandboxes'],
      summary: 'List sandboxes',
      request: { query: z.object({ all: z.enum(['true', 'false']).optional() }) },
      responses: {
        200: json(z.array(sandboxSchema), 'live sandboxes (all with ?all=true)'),
      },
    }),
    async (c) => {
      const principal = principalOf(c);
      const records = await manager.list({ all: c.req.valid('query').all === 'true' });
      return c.json(records.filter((r) => canSee(principal, accountOfSandbox(r))).map(view), 200);
    },
  );

  app.openapi(
    apiRoute({
      method: 'get',
      path: '/v1/sandboxes/{id}',
      operationId: 'getSandbox',
      tags: ['sandboxes'],
      summary: "A sandbox's record and the server's operation on it",
      request: { params: idParam },
      responses: { 200: json(sandboxSchema, 'the record'), 404: failure('no such sandbox') },
    }),
    async (c) => c.json(view(await sandboxFor(c, manager, c.req.valid('param').id)), 200),
  );

  app.openapi(
    apiRoute({
      method: 'delete',
      path: '/v1/sandboxes/{id}',
      operationId: 'destroySandbox',
      tags: ['sandboxes'],
      summary:
        'Destroy a sandbox (idempotent); a create in progress on this replica is stopped and rolled back',
      request: { params: idParam },
      responses: {
        200: json(sandboxSchema, 'destroyed'),
        404: failure('no such sandbox'),
        409: failure('another operation holds the sandbox'),
        502: failure('teardown failed; it stays destroying'),
      },
    }),
    async (c) => {
      const id = parseSandboxId(c.req.valid('param').id);
      await sandboxFor(c, manager, id);
      const running = operations.get(id);
      // A create in progress here is stopped: it rolls back, and the destroy below finds it failed.
      if (running?.status === 'running' && running.kind === 'create') await operations.cancel(id);
      else if (running?.status === 'running') {
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

  app.openapi(
    apiRoute({
      method: 'post',
      path: '/v1/sandboxes/{id}/extend',
      operationId: 'extendSandbox',
      tags: ['sandboxes'],
      summary: "Push a live sandbox's expiry out to `ttl` from now (at most the profile's max_ttl in all)",
      request: {
        params: idParam,
        body: {
          content: { 'application/json': { schema: z.strictObject({ ttl: ttlField }).openapi('Extend') } },
          required: true,
        },
      },
      responses: {
        200: json(sandboxSchema, 'the record with its new expiry'),
        402: failure('the account cannot afford the longer hold'),
        404: failure('no such sandbox'),
        409: failure('the sandbox is not live'),
      },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      await sandboxFor(c, manager, id);
      return c.json(view(await manager.extend(id, c.req.valid('json').ttl)), 200);
    },
  );

  app.openapi(
    apiRoute({
      method: 'post',
      path: '/v1/sandboxes/{id}/lease',
      operationId: 'renewLease',
      tags: ['sandboxes'],
      summary: "Renew a sandbox's lease (a client's keeper, every lease/4)",
      description:
        'The server renews it where it is kept (the host-side switch) and in the record; without renewals the sandbox is ended one lease after the last, billed to it. 409 once it is gone: stop renewing.',
      request: { params: idParam },
      responses: {
        200: json(sandboxSchema, 'renewed: the record with its new `lease_renewed_at`'),
        400: failure('the sandbox has no lease'),
        404: failure('no such sandbox'),
        409: failure('the sandbox is gone where its lease is kept (lapsed, or destroyed)'),
      },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      await sandboxFor(c, manager, id);
      if (!(await manager.renewLease(id))) {
        throw new StateConflictError(
          `sandbox ${id}: its lease has ended (it lapsed, or the sandbox was destroyed); stop renewing`,
          { sandbox: id },
        );
      }
      return c.json(view(await manager.get(id)), 200);
    },
  );
}
