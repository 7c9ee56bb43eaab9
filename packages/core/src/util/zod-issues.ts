import type { z } from 'zod';

/** Renders a zod issue path the way a user writes it in YAML: `inputs.defaults.repo`, `candidates[1].host`. */
export function formatIssuePath(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out ? `.${String(key)}` : String(key);
  }
  return out || '(top level)';
}

/** One line per issue, each `field: what was expected`. */
export function formatIssues(error: z.ZodError): string[] {
  return error.issues.map((issue) => {
    // A bad record key: zod keeps the key schema's own message (what a key should look like) nested.
    const nested = issue.code === 'invalid_key' ? issue.issues.map((i) => i.message).join('; ') : '';
    return `${formatIssuePath(issue.path)}: ${nested || issue.message}`;
  });
}
