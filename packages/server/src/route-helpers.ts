import { z } from '@hono/zod-openapi';

/** Pieces every route definition shares: the error body and response shapes. */
export const errorSchema = z.object({
  code: z.string(),
  message: z.string(),
  details: z.record(z.string(), z.unknown()),
});
export const json = <T extends z.ZodType>(schema: T, description: string) => ({
  content: { 'application/json': { schema } },
  description,
});
export const errors = {
  400: json(errorSchema, 'bad input (JSON, schema, unknown option)'),
  401: json(errorSchema, 'missing or wrong bearer token'),
  403: json(errorSchema, "the token may not do this (a member: another account's credits, granting)"),
  404: json(errorSchema, 'no such sandbox, profile or extension'),
  413: json(errorSchema, 'the request body is larger than the limit'),
  415: json(errorSchema, 'a request body that is not JSON'),
};
