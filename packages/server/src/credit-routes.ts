import { type OpenAPIHono, z } from '@hono/zod-openapi';
import { BILLING_COLUMNS, formatBilling, ledgerEntrySchema } from '@sand-boxer/core';
import { requireAccount, requireAdmin } from './auth/scope.js';
import { type AppEnv, principalOf, type RouteContext } from './route-context.js';
import { apiRoute, failure, json } from './route-helpers.js';
import { accountField, balanceSchema } from './schemas.js';

const accountParam = z.object({
  account: accountField.openapi({ param: { name: 'account', in: 'path' } }),
});

const otherAccount = failure("a member's token reads only its own account");

/** The credits ledger: balances, grants, history. */
export function registerCreditRoutes(app: OpenAPIHono<AppEnv>, { manager }: RouteContext): void {
  // Before /v1/credits/{account}, which would take `export` for an account's name.
  app.openapi(
    apiRoute({
      method: 'get',
      path: '/v1/credits/export',
      operationId: 'exportBilling',
      tags: ['credits'],
      summary: 'The ledger for finance tools: one row per entry (admin)',
      description: `Columns, in this order (new ones only ever at the end): ${BILLING_COLUMNS.join(', ')}.`,
      request: {
        query: z.object({
          account: accountField.optional(),
          since: z
            .string()
            .max(40)
            .optional()
            .openapi({ description: 'A duration back from now (30d) or a date' }),
          format: z.enum(['csv', 'jsonl']).default('csv'),
        }),
      },
      responses: {
        200: {
          content: { 'text/csv': { schema: z.string() }, 'application/x-ndjson': { schema: z.string() } },
          description: 'the rows',
        },
        403: failure('the billing export needs an admin token'),
      },
    }),
    async (c) => {
      requireAdmin(principalOf(c), 'the billing export');
      const { account, since, format } = c.req.valid('query');
      const rows = await manager.billing({ ...(account ? { account } : {}), ...(since ? { since } : {}) });
      const type = format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson';
      return c.body(formatBilling(rows, format), 200, { 'content-type': type }) as never;
    },
  );
  app.openapi(
    apiRoute({
      method: 'get',
      path: '/v1/credits',
      operationId: 'listBalances',
      tags: ['credits'],
      summary: 'Every account with its balance (a member: its own)',
      responses: { 200: json(z.array(balanceSchema), 'balances') },
    }),
    async (c) => {
      const principal = principalOf(c);
      if (principal.role === 'admin') return c.json(await manager.ledger.accounts(), 200);
      return c.json(principal.account ? [await manager.ledger.balance(principal.account)] : [], 200);
    },
  );

  app.openapi(
    apiRoute({
      method: 'get',
      path: '/v1/credits/{account}',
      operationId: 'getBalance',
      tags: ['credits'],
      summary: "An account's balance, held and available credits",
      request: { params: accountParam },
      responses: { 200: json(balanceSchema, 'the balance'), 403: otherAccount },
    }),
    async (c) => {
      const { account } = c.req.valid('param');
      requireAccount(principalOf(c), account);
      return c.json(await manager.ledger.balance(account), 200);
    },
  );

  app.openapi(
    apiRoute({
      method: 'post',
      path: '/v1/credits/{account}/grants',
      operationId: 'grantCredits',
      tags: ['credits'],
      summary: 'Grant credits to an account (admin)',
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
        403: failure('granting needs an admin token'),
      },
    }),
    async (c) => {
      const { account } = c.req.valid('param');
      const { amount, note } = c.req.valid('json');
      requireAdmin(principalOf(c), 'granting credits');
      const entry = await manager.ledger.grant(account, amount, note);
      return c.json({ entry, balance: await manager.ledger.balance(account) }, 201);
    },
  );

  app.openapi(
    apiRoute({
      method: 'get',
      path: '/v1/credits/{account}/history',
      operationId: 'getCreditHistory',
      tags: ['credits'],
      summary: "An account's history: grants, holds, releases, debits",
      request: { params: accountParam },
      responses: { 200: json(z.array(ledgerEntrySchema), 'oldest first'), 403: otherAccount },
    }),
    async (c) => {
      const { account } = c.req.valid('param');
      requireAccount(principalOf(c), account);
      return c.json(await manager.ledger.history(account), 200);
    },
  );
}
