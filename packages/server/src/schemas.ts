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
  id: z
    .string()
    .max(64)
    .openapi({ param: { name: 'id', in: 'path' }, example: 'k2j4h6g8f0d2' }),
});

/*
 * Every field a client sends is bounded, so no request can grow the server's memory or its state
 * files beyond what the body limit already allows, and every number is one core can count with.
 */

/** A short name: profile, host alias, sandbox id, snapshot name or reference. */
export const nameField = (max = 128) => z.string().min(1).max(max);
/** Who a sandbox is for, and who pays (core checks them again, for every surface). */
export const accountField = z.string().min(1).max(200);
/** A duration such as `30m`, or seconds (at most ten years). */
export const ttlField = z.union([
  z.string().min(1).max(32),
  z
    .number()
    .int()
    .positive()
    .max(10 * 365 * 24 * 3600),
]);
/** A lease such as `60s`, or seconds; 0 for none (core checks it against the TTL). */
export const leaseField = z.union([
  z.string().min(1).max(32),
  z
    .number()
    .int()
    .nonnegative()
    .max(10 * 365 * 24 * 3600),
]);
/** Sandbox inputs: at most 100, named like `repo`, each value at most 64 KiB. */
export const inputsField = z
  .record(
    z.string().regex(/^[a-z][a-z0-9_]{0,63}$/, 'expected an input name like "repo"'),
    z.string().max(65_536),
  )
  .refine((inputs) => Object.keys(inputs).length <= 100, 'at most 100 inputs');
