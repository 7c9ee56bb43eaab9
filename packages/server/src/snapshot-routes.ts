import { type OpenAPIHono, z } from '@hono/zod-openapi';
import { InputError, snapshotRecordSchema } from '@sand-boxer/core';
import { canSee, spendingAccount, visibleSandbox } from './auth/scope.js';
import { type AppEnv, principalOf, type RouteContext, sandboxFor, snapshotFor } from './route-context.js';
import { apiRoute, failure, foreignAccount, json, noBackend } from './route-helpers.js';
import { accountField, inputsField, nameField, sandboxSchema, ttlField } from './schemas.js';

// Re-made here (extend) so the schema carries zod-openapi's `.openapi`, patched in after core's were built.
const snapshotSchema = snapshotRecordSchema.extend({}).openapi('Snapshot');
const sandboxIdParam = z.object({
  id: nameField(64).openapi({ param: { name: 'id', in: 'path' }, example: 'k2j4h6g8f0d2' }),
});
const snapshotParam = z.object({
  ref: nameField().openapi({ param: { name: 'ref', in: 'path' }, example: 'snap-k2j4h6g8f0d2' }),
});
const createBody = z
  .strictObject({
    name: nameField(64).optional().openapi({ example: 'before-migration' }),
    pull: z.boolean().optional(),
  })
  .openapi('CreateSnapshot');
const restoreBody = z
  .strictObject({
    mode: z.enum(['new', 'in-place']).default('new'),
    host: nameField(255).optional(),
    sandbox: nameField(64).optional(),
    inputs: inputsField.optional(),
    ttl: ttlField.optional(),
    consumer: accountField.optional(),
    account: accountField.optional(),
  })
  .openapi('RestoreSnapshot');
const snapshotErrors = {
  404: failure('no such sandbox or snapshot'),
  409: failure('the sandbox or snapshot is not in a state that allows it'),
  422: failure('snapshots unsupported by the extension, or the artifact is corrupt'),
  502: failure('the capture or restore failed'),
};

/**
 * Snapshot routes: take one of a sandbox, list/show/delete them, restore one (as a new sandbox or
 * in place). They answer when the work is done; the server tracks them so shutdown waits for them.
 */
export function registerSnapshotRoutes(app: OpenAPIHono<AppEnv>, context: RouteContext): void {
  const { manager, operations, view } = context;
  const tracked = <T>(work: (signal: AbortSignal) => Promise<T>): Promise<T> => {
    const controller = new AbortController();
    return operations.track(work(controller.signal), controller);
  };

  app.openapi(
    apiRoute({
      method: 'post',
      path: '/v1/sandboxes/{id}/snapshots',
      operationId: 'createSnapshot',
      tags: ['snapshots'],
      summary: 'Snapshot a ready sandbox (workspace and volumes; services paused meanwhile)',
      request: {
        params: sandboxIdParam,
        body: { content: { 'application/json': { schema: createBody } }, required: false },
      },
      responses: { 201: json(snapshotSchema, 'the snapshot'), ...snapshotErrors },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const body = (await c.req.json().catch(() => ({}))) as z.infer<typeof createBody>;
      const parsed = createBody.safeParse(body);
      if (!parsed.success) throw new InputError(`invalid request: ${parsed.error.issues[0]?.message}`);
      await sandboxFor(c, manager, id);
      const record = await tracked((signal) =>
        manager.snapshots.create(id, {
          ...(parsed.data.name !== undefined ? { name: parsed.data.name } : {}),
          ...(parsed.data.pull ? { pull: true } : {}),
          signal,
        }),
      );
      return c.json(record, 201);
    },
  );

  app.openapi(
    apiRoute({
      method: 'get',
      path: '/v1/snapshots',
      operationId: 'listSnapshots',
      tags: ['snapshots'],
      summary: 'List snapshots',
      request: { query: z.object({ all: z.enum(['true', 'false']).optional() }) },
      responses: {
        200: json(z.array(snapshotSchema), 'ready snapshots (all with ?all=true)'),
      },
    }),
    async (c) => {
      const principal = principalOf(c);
      const all = await manager.snapshots.list({ all: c.req.valid('query').all === 'true' });
      return c.json(
        all.filter((s) => canSee(principal, s.account)),
        200,
      );
    },
  );

  app.openapi(
    apiRoute({
      method: 'get',
      path: '/v1/snapshots/{ref}',
      operationId: 'getSnapshot',
      tags: ['snapshots'],
      summary: 'One snapshot, by id or name',
      request: { params: snapshotParam },
      responses: { 200: json(snapshotSchema, 'the snapshot'), 404: failure('no such snapshot') },
    }),
    async (c) => c.json(await snapshotFor(c, manager, c.req.valid('param').ref), 200),
  );

  app.openapi(
    apiRoute({
      method: 'delete',
      path: '/v1/snapshots/{ref}',
      operationId: 'deleteSnapshot',
      tags: ['snapshots'],
      summary: 'Delete a snapshot and every copy of its artifact (idempotent)',
      request: { params: snapshotParam },
      responses: { 200: json(snapshotSchema, 'deleted'), ...snapshotErrors },
    }),
    async (c) => {
      const { ref } = c.req.valid('param');
      await snapshotFor(c, manager, ref);
      return c.json(await tracked(() => manager.snapshots.delete(ref)), 200);
    },
  );

  app.openapi(
    apiRoute({
      method: 'post',
      path: '/v1/snapshots/{ref}/pull',
      operationId: 'pullSnapshot',
      tags: ['snapshots'],
      summary: "Copy a host-kept snapshot into the server's own store (verified by sha256)",
      request: { params: snapshotParam },
      responses: { 200: json(snapshotSchema, 'the snapshot, with its local copy'), ...snapshotErrors },
    }),
    async (c) => {
      const { ref } = c.req.valid('param');
      await snapshotFor(c, manager, ref);
      return c.json(await tracked((signal) => manager.snapshots.pull(ref, { signal })), 200);
    },
  );

  app.openapi(
    apiRoute({
      method: 'post',
      path: '/v1/snapshots/{ref}/restore',
      operationId: 'restoreSnapshot',
      tags: ['snapshots'],
      summary: 'Restore a snapshot as a new sandbox (routing, credits, wait-ready) or in place',
      request: {
        params: snapshotParam,
        body: { content: { 'application/json': { schema: restoreBody } }, required: true },
      },
      responses: {
        201: json(sandboxSchema, 'the restored sandbox, ready'),
        ...snapshotErrors,
        402: failure('the account cannot afford the estimate'),
        403: foreignAccount,
        503: noBackend,
      },
    }),
    async (c) => {
      const { ref } = c.req.valid('param');
      const body = c.req.valid('json');
      await snapshotFor(c, manager, ref);
      // In place over a sandbox of another account is as if that sandbox did not exist.
      if (body.sandbox) visibleSandbox(principalOf(c), await manager.get(body.sandbox), body.sandbox);
      const account = spendingAccount(principalOf(c), body.account);
      // Checked by core like a create's: the manager was opened confined (repo root, host aliases).
      const inputs = body.inputs ?? {};
      const record = await tracked((signal) =>
        manager.snapshots.restore(ref, {
          mode: body.mode,
          inputs,
          ...(body.host ? { host: body.host } : {}),
          ...(body.sandbox ? { sandbox: body.sandbox } : {}),
          ...(body.ttl !== undefined ? { ttl: body.ttl } : {}),
          ...(body.consumer ? { consumer: body.consumer } : {}),
          ...(account ? { account } : {}),
          signal,
        }),
      );
      return c.json(view(record), 201);
    },
  );
}
