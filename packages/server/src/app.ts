import { realpathSync } from 'node:fs';
import { isAbsolute, relative, resolve } from 'node:path';
import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import {
  type CreateRequest,
  InputError,
  ledgerEntrySchema,
  meterQuoteSchema,
  parseSandboxId,
  type SandboxManager,
  type SandboxRecord,
  StateConflictError,
  sandboxRecordSchema,
} from '@sand-boxer/core';
import { bearerAuth } from './auth.js';
import { errorResponse } from './http-errors.js';
import { type Operation, Operations } from './operations.js';
import { errorSchema, errors, json } from './route-helpers.js';
import { registerSnapshotRoutes } from './snapshot-routes.js';

export interface AppOptions {
  manager: SandboxManager;
  tokens: string[];
  operations?: Operations;
  /** Clients may only name repos inside this directory (default: the working directory). */
  repoRoot?: string;
  /** One line per request (method, path, status, ms); never headers or bodies. */
  log?: (line: string) => void;
}

const operationSchema = z.object({
  kind: z.enum(['create', 'destroy']),
  status: z.enum(['running', 'succeeded', 'failed']),
  started_at: z.string(),
  finished_at: z.string().optional(),
  progress: z.array(z.string()),
  error: z.object({ code: z.string(), message: z.string() }).optional(),
});
/** A sandbox record as the API returns it: the stored record plus the server's operation on it. */
const sandboxSchema = sandboxRecordSchema
  .extend({ operation: operationSchema.optional() })
  .openapi('Sandbox');
const createBodySchema = z
  .strictObject({
    profile: z.string().min(1).openapi({ example: 'saas-stub' }),
    inputs: z
      .record(z.string(), z.string())
      .optional()
      .openapi({ example: { repo: '.' } }),
    consumer: z.string().min(1).optional(),
    account: z.string().min(1).optional(),
    host: z.string().min(1).optional(),
    ttl: z.union([z.string(), z.number()]).optional().openapi({ example: '30m' }),
  })
  .openapi('CreateSandbox');
const balanceSchema = z
  .object({
    account: z.string(),
    balance: z.number(),
    held: z.number(),
    available: z.number(),
    holds: z.array(ledgerEntrySchema),
  })
  .openapi('Balance');

const idParam = z.object({
  id: z.string().openapi({ param: { name: 'id', in: 'path' }, example: 'k2j4h6g8f0d2' }),
});
const accountParam = z.object({
  account: z
    .string()
    .min(1)
    .openapi({ param: { name: 'account', in: 'path' } }),
});

/**
 * The REST surface over the same SandboxManager the CLI uses. Bodies and queries are validated by
 * zod schemas, from which /openapi.json is generated; every error is `{code, message, details}`.
 */
export function createApp(options: AppOptions): OpenAPIHono {
  const { manager } = options;
  const operations = options.operations ?? new Operations();
  const app = new OpenAPIHono({
    defaultHook: (result, c) => {
      if (result.success) return;
      const problems = result.error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`);
      return c.json(
        { code: 'INPUT_INVALID', message: `invalid request: ${problems.join('; ')}`, details: { problems } },
        400,
      );
    },
  });

  app.use('*', async (c, next) => {
    const started = Date.now();
    await next();
    options.log?.(`${c.req.method} ${new URL(c.req.url).pathname} ${c.res.status} ${Date.now() - started}ms`);
  });
  app.onError((error, c) => {
    // Hono's JSON parser reports a malformed body as an HTTPException with status 400.
    if ('status' in error && error.status === 400) {
      return c.json(
        { code: 'INPUT_INVALID', message: `request body is not valid JSON (${error.message})`, details: {} },
        400,
      );
    }
    const { status, body } = errorResponse(error);
    return c.json(body, status);
  });
  app.notFound((c) =>
    c.json(
      { code: 'NOT_FOUND', message: `no route ${c.req.method} ${new URL(c.req.url).pathname}`, details: {} },
      404,
    ),
  );

  app.get('/healthz', (c) => c.json({ ok: true, in_flight: operations.inFlight }));
  app.doc('/openapi.json', {
    openapi: '3.0.3',
    info: {
      title: 'sand-boxer',
      version: '0.1.0',
      description: 'Throwaway sandboxes on demand, guaranteed to be torn down.',
    },
    security: [{ bearer: [] }],
  });
  app.openAPIRegistry.registerComponent('securitySchemes', 'bearer', { type: 'http', scheme: 'bearer' });
  if (options.tokens.length === 0) {
    // Without tokens the server is loopback-only; checking Host also stops DNS-rebinding pages.
    app.use('*', async (c, next) => {
      const host = (c.req.header('host') ?? '').replace(/:\d+$/, '');
      if (!['127.0.0.1', 'localhost', '[::1]'].includes(host)) {
        return c.json(
          { code: 'FORBIDDEN', message: `Host "${host}" is not a loopback name`, details: {} },
          403,
        );
      }
      return next();
    });
  }
  app.use('/v1/*', bearerAuth(options.tokens));
  app.use('/v1/*', async (c, next) => {
    if (operations.draining && c.req.method !== 'GET') {
      return c.json(
        {
          code: 'INTERRUPTED',
          message: 'the server is shutting down; retry on another instance',
          details: {},
        },
        503,
      );
    }
    return next();
  });
  const repoRoot = realpathSync(options.repoRoot ?? process.cwd());

  const view = (record: SandboxRecord) => {
    const operation = operations.get(record.id);
    return operation ? { ...record, operation } : record;
  };

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
      const request: CreateRequest = {
        ...body,
        inputs: confineInputs(body.inputs ?? {}, body.host, repoRoot),
      };
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
        (error) => operations.finish(operation, errorResponse(error).body),
      );
      const outcome = await Promise.race([
        first.then((record) => ({ record })),
        work.then(
          (record) => ({ record }),
          (error: unknown) => ({ error }),
        ),
      ]);
      if ('error' in outcome) {
        const { status, body: errorBody } = errorResponse(outcome.error);
        return c.json(errorBody, status as 400);
      }
      const location = `/v1/sandboxes/${outcome.record.id}`;
      if (!wait) return c.json(view(outcome.record), 202, { Location: location });
      try {
        return c.json(view(await work), 201, { Location: location });
      } catch (error) {
        const { status, body: errorBody } = errorResponse(error);
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
        operations.finish(operation, errorResponse(error).body);
        throw error;
      }
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/profiles',
      summary: 'Profiles',
      responses: { 200: json(z.array(z.record(z.string(), z.unknown())), 'every profile'), 401: errors[401] },
    }),
    async (c) => {
      const catalog = await manager.catalog();
      return c.json(
        catalog.profiles().map((p) => ({ ...p, source: catalog.sourceOf(p.id) ?? null })),
        200,
      );
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/extensions',
      summary: 'Extensions and their capabilities',
      responses: {
        200: json(z.array(z.record(z.string(), z.unknown())), 'every extension'),
        401: errors[401],
      },
    }),
    async (c) => {
      const catalog = await manager.catalog();
      return c.json(
        catalog.extensions().map((e) => ({ ...e, source: catalog.sourceOf(e.id) ?? null })),
        200,
      );
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/estimate',
      summary: 'What a sandbox of a profile would cost',
      request: { query: z.object({ profile: z.string().min(1), ttl: z.string().optional() }) },
      responses: {
        200: json(
          z.object({ profile: z.string(), quote: meterQuoteSchema.nullable() }),
          'the quote (null: no charge)',
        ),
        ...errors,
      },
    }),
    async (c) => {
      const { profile, ttl } = c.req.valid('query');
      return c.json({ profile, quote: (await manager.estimate(profile, ttl)) ?? null }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/route',
      summary: 'Where a create would go and why (every candidate with its reasons); creates nothing',
      request: {
        query: z.object({
          profile: z.string().min(1),
          ttl: z.string().optional(),
          host: z.string().optional(),
          account: z.string().optional(),
          consumer: z.string().optional(),
          /** Sandbox inputs as `key=value`, repeatable: `?input=repo%3D.` */
          input: z.union([z.string(), z.array(z.string())]).optional(),
          explain: z.string().optional(),
        }),
      },
      responses: { 200: json(z.record(z.string(), z.unknown()), 'the decision'), ...errors },
    }),
    async (c) => {
      const q = c.req.valid('query');
      const inputs: Record<string, string> = {};
      for (const pair of [q.input ?? []].flat()) {
        const eq = pair.indexOf('=');
        if (eq < 1) throw new InputError(`input ${JSON.stringify(pair)}: expected key=value`);
        inputs[pair.slice(0, eq)] = pair.slice(eq + 1);
      }
      const decision = await manager.route({
        profile: q.profile,
        inputs,
        ...(q.ttl ? { ttl: q.ttl } : {}),
        ...(q.host ? { host: q.host } : {}),
        ...(q.account ? { account: q.account } : {}),
        ...(q.consumer ? { consumer: q.consumer } : {}),
      });
      const { chosen, ...rest } = decision;
      return c.json({ ...rest, chosen: chosen?.report ?? null }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/credits',
      summary: 'Every account with its balance',
      responses: { 200: json(z.array(balanceSchema), 'balances'), 401: errors[401] },
    }),
    async (c) => c.json(await manager.ledger.accounts(), 200),
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/credits/{account}',
      summary: "An account's balance, held and available credits",
      request: { params: accountParam },
      responses: { 200: json(balanceSchema, 'the balance'), ...errors },
    }),
    async (c) => c.json(await manager.ledger.balance(c.req.valid('param').account), 200),
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/credits/{account}/grants',
      summary: 'Grant credits to an account',
      request: {
        params: accountParam,
        body: {
          content: {
            'application/json': {
              schema: z.strictObject({ amount: z.number().positive(), note: z.string().optional() }),
            },
          },
          required: true,
        },
      },
      responses: {
        201: json(z.object({ entry: ledgerEntrySchema, balance: balanceSchema }), 'granted'),
        ...errors,
      },
    }),
    async (c) => {
      const { account } = c.req.valid('param');
      const { amount, note } = c.req.valid('json');
      const entry = await manager.ledger.grant(account, amount, note);
      return c.json({ entry, balance: await manager.ledger.balance(account) }, 201);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/credits/{account}/history',
      summary: "An account's history: grants, holds, releases, debits",
      request: { params: accountParam },
      responses: { 200: json(z.array(ledgerEntrySchema), 'oldest first'), ...errors },
    }),
    async (c) => c.json(await manager.ledger.history(c.req.valid('param').account), 200),
  );

  registerSnapshotRoutes(app, {
    manager,
    operations,
    sandboxSchema,
    view,
    confine: (inputs, host) => confineInputs(inputs, host, repoRoot),
  });
  return app;
}

/**
 * What a remote client may name is narrower than what a local user may: the `repo` must be inside
 * the server's repo root (else any directory of the server could be copied to a host of the
 * client's choosing), and the host must be a hosts-file alias, not an arbitrary user@address.
 */
function confineInputs(
  inputs: Record<string, string>,
  host: string | undefined,
  repoRoot: string,
): Record<string, string> {
  if (host?.includes('@')) {
    throw new InputError(`host "${host}": over HTTP only hosts-file aliases are accepted (or "local")`, {
      host,
    });
  }
  if (inputs.ssh_target !== undefined) {
    throw new InputError('inputs.ssh_target: over HTTP name the VM with inputs.vm (a hosts-file alias)');
  }
  if (inputs.repo === undefined) return inputs;
  let real: string;
  try {
    real = realpathSync(resolve(repoRoot, inputs.repo));
  } catch {
    throw new InputError(
      `inputs.repo: ${inputs.repo} does not exist under the server's repo root ${repoRoot}`,
    );
  }
  const rel = relative(repoRoot, real);
  if (rel.startsWith('..') || isAbsolute(rel)) {
    throw new InputError(
      `inputs.repo: ${inputs.repo} is outside the server's repo root ${repoRoot} (see serve --repo-root)`,
      {
        repo: inputs.repo,
      },
    );
  }
  return { ...inputs, repo: real };
}
