import { type OpenAPIHono, z } from '@hono/zod-openapi';
import { InputError, meterQuoteSchema } from '@sand-boxer/core';
import { spendingAccount } from './auth/scope.js';
import { type AppEnv, principalOf, type RouteContext } from './route-context.js';
import { apiRoute, failure, foreignAccount, json } from './route-helpers.js';
import { accountField, nameField } from './schemas.js';

/** A declaration file the server loaded (profile, extension, hosts) is invalid. */
const badCatalog = failure('a declaration the server loaded is invalid (CONFIG_INVALID)');

/** What can be created and where it would go: profiles, extensions, estimates, routing decisions. */
export function registerCatalogRoutes(app: OpenAPIHono<AppEnv>, { manager }: RouteContext): void {
  app.openapi(
    apiRoute({
      method: 'get',
      path: '/v1/profiles',
      operationId: 'listProfiles',
      tags: ['catalog'],
      summary: 'Profiles',
      responses: {
        200: json(z.array(z.record(z.string(), z.unknown())), 'every profile'),
        400: badCatalog,
      },
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
    apiRoute({
      method: 'get',
      path: '/v1/extensions',
      operationId: 'listExtensions',
      tags: ['catalog'],
      summary: 'Extensions and their capabilities',
      responses: {
        200: json(z.array(z.record(z.string(), z.unknown())), 'every extension'),
        400: badCatalog,
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
    apiRoute({
      method: 'get',
      path: '/v1/estimate',
      operationId: 'estimateCost',
      tags: ['catalog'],
      summary: 'What a sandbox of a profile would cost',
      request: { query: z.object({ profile: nameField(), ttl: z.string().max(32).optional() }) },
      responses: {
        200: json(
          z.object({ profile: z.string(), quote: meterQuoteSchema.nullable() }),
          'the quote (null: no charge)',
        ),
        404: failure('no such profile'),
      },
    }),
    async (c) => {
      const { profile, ttl } = c.req.valid('query');
      return c.json(await manager.estimateReport(profile, ttl), 200);
    },
  );

  app.openapi(
    apiRoute({
      method: 'get',
      path: '/v1/route',
      operationId: 'explainRoute',
      tags: ['catalog'],
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
      responses: {
        200: json(z.record(z.string(), z.unknown()), 'the decision'),
        403: foreignAccount,
        404: failure('no such profile, extension or host'),
      },
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
