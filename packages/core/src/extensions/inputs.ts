import type { z } from 'zod';
import { ConfigError, InputError } from '../errors.js';
import { formatIssuePath } from '../util/zod-issues.js';

/**
 * Validates a sandbox's inputs against an extension's schema, so every extension reports a missing
 * or malformed input the same way: `ext.saas-stub: input "repo": is required (pass --input repo=<value>)`.
 */
export function parseInputs<S extends z.ZodType>(
  extensionId: string,
  schema: S,
  inputs: Record<string, string>,
): z.infer<S> {
  const result = schema.safeParse(inputs);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    const name = formatIssuePath(issue.path);
    const missing = issue.code === 'invalid_type' && inputs[name] === undefined;
    return missing
      ? `input "${name}": is required (pass --input ${name}=<value> or set a default in the profile)`
      : `input "${name}": ${issue.message}`;
  });
  throw new InputError(`${extensionId}: ${problems.join('; ')}`, { extension: extensionId, problems });
}

/** Validates an extension's `config:` block with its own schema; errors name the field. */
export function parseExtensionConfig<S extends z.ZodType>(
  extensionId: string,
  schema: S,
  config: unknown,
): z.infer<S> {
  const result = schema.safeParse(config);
  if (result.success) return result.data;
  const problems = result.error.issues.map(
    (issue) => `config.${formatIssuePath(issue.path)}: ${issue.message}`,
  );
  throw new ConfigError(`${extensionId}: ${problems.join('; ')}`, { extension: extensionId, problems });
}
