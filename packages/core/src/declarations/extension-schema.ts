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

/** Input names are shell- and YAML-friendly identifiers: `repo`, `compose_files`, `ssh_port`. */
export const inputNameSchema = z
  .string()
  .regex(/^[a-z][a-z0-9_]*$/, 'expected an input name like "repo" or "compose_files"');

/**
 * What an input's value is, so core can treat it the same way for every extension:
 * - `text`: a plain value, checked by the extension's own schema (the default);
 * - `local-path`: a directory on the machine that runs sand-boxer (e.g. the repo to sync). Core makes
 *   it absolute once, against the base directory the caller names (the CLI's working directory, the
 *   action's workspace, the server's repo root), and checks it is a directory, before routing;
 * - `host-ref`: names a host (a hosts-file alias, or user@address[:port] where the caller allows it);
 * - `remote-path`: a path on the host; a confined caller (the HTTP API) may not choose it.
 */
export const inputKindSchema = z.enum(['text', 'local-path', 'host-ref', 'remote-path']);

/** One input an extension accepts: its kind (default `text`) and what it is for. */
export const inputDeclarationSchema = z.strictObject({
  kind: inputKindSchema.default('text'),
  description: z.string().optional(),
});

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
  /**
   * Every input the extension accepts, with its kind (see inputKindSchema). A request naming an input
   * that no candidate extension declares (nor the profile, nor core's own `wait_timeout`) is refused,
   * so a typo is an error rather than a silently ignored setting.
   */
  inputs: z.record(inputNameSchema, inputDeclarationSchema).default({}),
  /** Handler-specific settings; each handler validates them with its own schema. */
  config: z.record(z.string(), z.unknown()).default({}),
});

export type ExtensionDeclaration = z.infer<typeof extensionDeclarationSchema>;
export type IsolationLevel = z.infer<typeof isolationLevelSchema>;
export type PricingModel = z.infer<typeof pricingModelSchema>;
export type InputKind = z.infer<typeof inputKindSchema>;
