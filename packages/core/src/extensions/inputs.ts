import type { z } from 'zod';
import { ConfigError, InputError } from '../errors.js';
import { formatIssuePath } from '../util/zod-issues.js';

/**
 * Validates a sandbox's inputs against an extension's schema, so every extension reports a missing
 * or malformed input the same way: `ext.saas-stub: input "repo": is required`. The error's
 * `details.inputs` names the inputs at fault, so each surface can say how to set them
 * (`--input repo=…`, `"inputs"` in a request body, the action's `inputs`).
 */
export function parseInputs<S extends z.ZodType>(
  extensionId: string,
  schema: S,
  inputs: Record<string, string>,
): z.infer<S> {
  const result = schema.safeParse(inputs);
  if (result.success) return result.data;
  const names: string[] = [];
  const problems = result.error.issues.map((issue) => {
    const name = formatIssuePath(issue.path);
    names.push(name);
    const missing = issue.code === 'invalid_type' && inputs[name] === undefined;
    return missing
      ? `input "${name}": is required (give it, or set a default in the profile)`
      : `input "${name}": ${issue.message}`;
  });
  throw new InputError(`${extensionId}: ${problems.join('; ')}`, {
    extension: extensionId,
    problems,
    inputs: [...new Set(names)],
  });
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
