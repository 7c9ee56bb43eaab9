import { z } from '@hono/zod-openapi';
import { ledgerEntrySchema, sandboxRecordSchema } from '@sand-boxer/core';

/** The schemas more than one route module shares; /openapi.json is generated from them. */

const operationSchema = z.object({
  kind: z.enum(['create', 'destroy']),
  status: z.enum(['running', 'succeeded', 'failed']),
  started_at: z.string(),
  finished_at: z.string().optional(),
  progress: z.array(z.string()),
  error: z.object({ code: z.string(), message: z.string() }).optional(),
});

/** A sandbox record as the API returns it: the stored record plus the server's operation on it. */
export const sandboxSchema = sandboxRecordSchema
  .extend({ operation: operationSchema.optional() })
  .openapi('Sandbox');

export const balanceSchema = z
  .object({
    account: z.string(),
    balance: z.number(),
    held: z.number(),
    available: z.number(),
    holds: z.array(ledgerEntrySchema),
  })
  .openapi('Balance');

export const idParam = z.object({
  id: z.string().openapi({ param: { name: 'id', in: 'path' }, example: 'k2j4h6g8f0d2' }),
});
