import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import { ledgerEntrySchema } from '@sand-boxer/core';
import type { RouteContext } from './route-context.js';
import { errors, json } from './route-helpers.js';
import { accountField, balanceSchema } from './schemas.js';

const accountParam = z.object({
  account: accountField.openapi({ param: { name: 'account', in: 'path' } }),
});

/** The credits ledger: balances, grants, history. */
export function registerCreditRoutes(app: OpenAPIHono, { manager }: RouteContext): void {
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
              schema: z.strictObject({
                amount: z.number().positive().max(1_000_000_000),
                note: z.string().max(1000).optional(),
              }),
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
}
