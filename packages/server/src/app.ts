import { OpenAPIHono } from '@hono/zod-openapi';
import type { SandboxManager, SandboxRecord } from '@sand-boxer/core';
import { bearerAuth } from './auth.js';
import { registerCatalogRoutes } from './catalog-routes.js';
import { registerCreditRoutes } from './credit-routes.js';
import { errorResponse } from './http-errors.js';
import { Operations } from './operations.js';
import type { RouteContext, SandboxView } from './route-context.js';
import { registerSandboxRoutes } from './sandbox-routes.js';
import { registerSnapshotRoutes } from './snapshot-routes.js';

export interface AppOptions {
  manager: SandboxManager;
  tokens: string[];
  operations?: Operations;
  /** One line per request (method, path, status, ms); never headers or bodies. */
  log?: (line: string) => void;
}

/**
 * The REST surface over the same SandboxManager the CLI uses: the middleware every request passes
 * (log line, errors as `{code, message, details}`, loopback Host check without tokens, bearer
 * tokens, refusing new work while draining), then one route module per resource. Bodies and
 * queries are validated by zod schemas, from which /openapi.json is generated.
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
  const view = (record: SandboxRecord): SandboxView => {
    const operation = operations.get(record.id);
    return operation ? { ...record, operation } : record;
  };
  const context: RouteContext = { manager, operations, view };
  registerSandboxRoutes(app, context);
  registerCatalogRoutes(app, context);
  registerCreditRoutes(app, context);
  registerSnapshotRoutes(app, context);
  return app;
}
