import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import { InputError, meterQuoteSchema } from '@sand-boxer/core';
import { spendingAccount } from './auth/scope.js';
import { type AppEnv, principalOf, type RouteContext } from './route-context.js';
import { errors, json } from './route-helpers.js';
import { accountField, nameField } from './schemas.js';

/** What can be created and where it would go: profiles, extensions, estimates, routing decisions. */
export function registerCatalogRoutes(app: OpenAPIHono<AppEnv>, { manager }: RouteContext): void {
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
      request: { query: z.object({ profile: nameField(), ttl: z.string().max(32).optional() }) },
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
      return c.json(await manager.estimateReport(profile, ttl), 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/route',
      summary: 'Where a create would go and why (every candidate with its reasons); creates nothing',
      request: {
        query: z.object({
          profile: nameField(),
          ttl: z.string().max(32).optional(),
          host: nameField(255).optional(),
          account: accountField.optional(),
          consumer: accountField.optional(),
          /** Sandbox inputs as `key=value`, repeatable: `?input=repo%3D.` */
          input: z.union([z.string().max(65_600), z.array(z.string().max(65_600)).max(100)]).optional(),
          explain: z.string().max(8).optional(),
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
      const account = spendingAccount(principalOf(c), q.account);
      const report = await manager.routeReport({
        profile: q.profile,
        inputs,
        ...(q.ttl ? { ttl: q.ttl } : {}),
        ...(q.host ? { host: q.host } : {}),
        ...(account ? { account } : {}),
        ...(q.consumer ? { consumer: q.consumer } : {}),
      });
      return c.json(report, 200);
    },
  );
}
