import { OpenAPIHono } from '@hono/zod-openapi';
import type { SandboxManager, SandboxRecord } from '@sand-boxer/core';
import { authenticate, type OidcVerifier } from './auth/authenticate.js';
import { adminTokens, type Credentials, hasCredentials, mergeCredentials } from './auth/credentials.js';
import { registerCatalogRoutes } from './catalog-routes.js';
import { registerCreditRoutes } from './credit-routes.js';
import { errorEnvelope } from './error-envelope.js';
import { registerHostRoutes } from './host-routes.js';
import { type ErrorPolicy, errorResponse } from './http-errors.js';
import { Operations } from './operations.js';
import { registerReachRoutes } from './reach-routes.js';
import { limitBody, loopbackHostOnly, refuseWhileDraining, requireJson } from './request-guards.js';
import type { AppEnv, RouteContext, SandboxView } from './route-context.js';
import { registerSandboxRoutes } from './sandbox-routes.js';
import { registerServiceRoutes } from './service-routes.js';
import { registerSnapshotRoutes } from './snapshot-routes.js';

export interface AppOptions {
  manager: SandboxManager;
  /** Plain admin tokens (`--token-file`, `$SANDBOXER_API_TOKENS`). */
  tokens?: string[];
  /** Per-account tokens and OIDC rules (`--auth-file`). */
  credentials?: Credentials;
  /** Checks OIDC tokens against `credentials.oidc` (see auth/oidc.ts). */
  verifyOidc?: OidcVerifier;
  operations?: Operations;
  /** One line per request (method, path, status, ms); never headers or bodies. */
  log?: (line: string) => void;
  /** Where an unexpected error is written in full (default: `log`); the client gets only its id. */
  errorLog?: (line: string) => void;
  /** The largest request body accepted (default 1 MiB). */
  bodyLimitBytes?: number;
  /** Server paths that error bodies never show, each replaced by its label (e.g. the state directory). */
  redact?: ErrorPolicy['redact'];
}

/** Requests carry a profile, inputs and a few names: a megabyte is far more than any needs. */
export const DEFAULT_BODY_LIMIT = 1024 * 1024;

/**
 * The REST surface over the same SandboxManager the CLI uses: the middleware every request passes
 * (log line, errors as `{code, message, details}` and the same in `error`, as the CLI prints them, loopback Host check without tokens, bearer
 * tokens, refusing new work while draining), then one route module per resource. Bodies and
 * queries are validated by zod schemas, from which /openapi.json (OpenAPI 3.1) is generated.
 */
export function createApp(options: AppOptions): OpenAPIHono<AppEnv> {
  const { manager } = options;
  const operations = options.operations ?? new Operations();
  const policy: ErrorPolicy = {
    ...(options.redact ? { redact: options.redact } : {}),
    ...(options.log ? { log: options.log } : {}),
  };
  const respond = (error: unknown) => errorResponse(error, policy);
  const app = new OpenAPIHono<AppEnv>({
    defaultHook: (result, c) => {
      if (result.success) return;
      const problems = result.error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`);
      return c.json(
        { code: 'INPUT_INVALID', message: `invalid request: ${problems.join('; ')}`, details: { problems } },
        400,
      );
    },
  });

  app.use('*', errorEnvelope());
  app.use('*', async (c, next) => {
    const started = Date.now();
    await next();
    // Who asked, by its label (`token #2 (team-a)`), never the credential.
    const who = c.get('principal')?.label;
    options.log?.(
      `${c.req.method} ${new URL(c.req.url).pathname} ${c.res.status} ${Date.now() - started}ms${who ? ` ${who}` : ''}`,
    );
  });
  app.onError((error, c) => {
    // Hono's JSON parser reports a malformed body as an HTTPException with status 400.
    if ('status' in error && error.status === 400) {
      return c.json(
        { code: 'INPUT_INVALID', message: `request body is not valid JSON (${error.message})`, details: {} },
        400,
      );
    }
    const { status, body } = respond(error);
    return c.json(body, status);
  });
  app.notFound((c) =>
    c.json(
      { code: 'NOT_FOUND', message: `no route ${c.req.method} ${new URL(c.req.url).pathname}`, details: {} },
      404,
    ),
  );

  // Before the Host check and authentication below, which therefore never run for these two.
  registerServiceRoutes(app, operations);
  const credentials = mergeCredentials(
    adminTokens(options.tokens ?? []),
    options.credentials ?? { tokens: [], oidc: [] },
  );
  if (!hasCredentials(credentials)) app.use('*', loopbackHostOnly());
  app.use('/v1/*', authenticate(credentials, options.verifyOidc));
  app.use('/v1/*', refuseWhileDraining(operations));
  app.use('/v1/*', requireJson());
  app.use('/v1/*', limitBody(options.bodyLimitBytes ?? DEFAULT_BODY_LIMIT));
  const view = (record: SandboxRecord): SandboxView => {
    const operation = operations.get(record.id);
    return operation ? { ...record, operation } : record;
  };
  const context: RouteContext = { manager, operations, view, respond };
  registerSandboxRoutes(app, context);
  registerReachRoutes(app, context);
  registerCatalogRoutes(app, context);
  registerCreditRoutes(app, context);
  registerSnapshotRoutes(app, context);
  registerHostRoutes(app, context);
  return app;
}
