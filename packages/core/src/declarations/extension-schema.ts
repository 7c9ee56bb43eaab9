import { z } from 'zod';

/** How strongly one sandbox is separated from another on the same backend. */
export const isolationLevelSchema = z.enum(['directory', 'container', 'vm']);

/**
 * `metered`: every sandbox costs credits (the extension must implement estimateCost and meterActual).
 * `self-hosted`: runs on the user's own machines; may declare an internal rate for reports only.
 */
export const pricingModelSchema = z.enum(['metered', 'self-hosted']);

export const extensionIdSchema = z
  .string()
  .regex(/^ext\.[a-z0-9][a-z0-9-]*$/, 'expected an id like "ext.my-backend" (lower case, digits and dashes)');

/**
 * `builtin:<name>` picks a handler shipped with sand-boxer (resolved from a static map, so bundles work);
 * `<module>:<Export>` imports a third-party handler: `./my-ext.js:MyExtension` (relative to the YAML file)
 * or `some-package:MyExtension`.
 */
export const handlerSchema = z
  .string()
  .regex(
    /^(builtin:[a-z0-9-]+|[^\s:][^\s]*:[A-Za-z_$][\w$]*)$/,
    'expected "builtin:<name>" or "<module>:<ExportName>", e.g. "./my-ext.js:MyExtension"',
  );

/** The schema of `extensions/ext.<name>.yaml`. */
export const extensionDeclarationSchema = z.strictObject({
  id: extensionIdSchema,
  title: z.string().min(1),
  description: z.string().optional(),
  handler: handlerSchema,
  capabilities: z.strictObject({
    isolation_levels: z.array(isolationLevelSchema).min(1),
    pricing_model: pricingModelSchema,
    snapshot: z.boolean().default(false),
  }),
  /** Handler-specific settings; each handler validates them with its own schema. */
  config: z.record(z.string(), z.unknown()).default({}),
});

export type ExtensionDeclaration = z.infer<typeof extensionDeclarationSchema>;
export type IsolationLevel = z.infer<typeof isolationLevelSchema>;
export type PricingModel = z.infer<typeof pricingModelSchema>;
