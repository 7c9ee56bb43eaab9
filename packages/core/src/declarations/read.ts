import { readFile, stat } from 'node:fs/promises';
import { parseDocument } from 'yaml';
import type { z } from 'zod';
import { ConfigError, messageOf } from '../errors.js';
import { formatIssues } from '../util/zod-issues.js';

/** Declarations are small; a larger file is a mistake (or an attack) and is refused before parsing. */
export const MAX_DECLARATION_BYTES = 256 * 1024;

/** The text of one declaration and where it came from (shown in every error about it). */
export interface DeclarationSource {
  kind: 'extension' | 'profile';
  /** Shown to users: `profiles/profile.x.yaml` or `.sandboxer/profiles/profile.x.yaml`. */
  displayPath: string;
  /** The directory relative handler paths resolve against; undefined for built-ins. */
  baseDir: string | undefined;
  text: string;
}

export async function readDeclarationFile(
  kind: DeclarationSource['kind'],
  path: string,
  displayPath: string,
  baseDir: string,
): Promise<DeclarationSource> {
  const { size } = await stat(path);
  if (size > MAX_DECLARATION_BYTES) {
    throw new ConfigError(
      `${displayPath}: file is ${size} bytes, larger than the ${MAX_DECLARATION_BYTES}-byte limit for a declaration`,
      { file: displayPath },
    );
  }
  return { kind, displayPath, baseDir, text: await readFile(path, 'utf8') };
}

/** Parses YAML and validates it, with errors that name the file, the line or field, and what was expected. */
export function parseDeclaration<S extends z.ZodType>(source: DeclarationSource, schema: S): z.infer<S> {
  const { displayPath, text } = source;
  if (Buffer.byteLength(text) > MAX_DECLARATION_BYTES) {
    throw new ConfigError(
      `${displayPath}: larger than the ${MAX_DECLARATION_BYTES}-byte limit for a declaration`,
      {
        file: displayPath,
      },
    );
  }
  // `uniqueKeys` makes a repeated key an error instead of silently keeping the last one.
  const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: true });
  const yamlError = doc.errors[0];
  if (yamlError) {
    const where = yamlError.linePos?.[0];
    const at = where ? `:${where.line}:${where.col}` : '';
    // prettyErrors appends " at line L, column C:" and a source excerpt; we print our own position.
    const reason = (yamlError.message.split('\n')[0] ?? '').replace(/ at line \d+, column \d+:?$/, '');
    throw new ConfigError(`${displayPath}${at}: YAML syntax error: ${reason}`, { file: displayPath });
  }
  let value: unknown;
  try {
    // A small alias budget: a "billion laughs" document must not expand into gigabytes.
    value = doc.toJS({ maxAliasCount: 50 });
  } catch (error) {
    throw new ConfigError(`${displayPath}: YAML cannot be expanded: ${messageOf(error)}`, {
      file: displayPath,
    });
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new ConfigError(
      `${displayPath}: expected a mapping of fields (key: value), got ${describe(value)}`,
      {
        file: displayPath,
      },
    );
  }
  const reserved = reservedKeyPath(value, []);
  if (reserved) {
    // zod's records would silently drop it; a name every object inherits is never a valid name.
    throw new ConfigError(`${displayPath}: ${reserved}: "__proto__" is not allowed as a name`, {
      file: displayPath,
    });
  }
  const result = schema.safeParse(value);
  if (!result.success) {
    const problems = formatIssues(result.error);
    throw new ConfigError(`${displayPath}: ${problems.join('; ')}`, { file: displayPath, problems });
  }
  return result.data;
}

/** The dotted path of the first `__proto__` key anywhere in the document, if any. */
function reservedKeyPath(value: unknown, path: string[]): string | undefined {
  if (value === null || typeof value !== 'object') return undefined;
  for (const key of Object.keys(value)) {
    if (key === '__proto__') return [...path, key].join('.');
    const found = reservedKeyPath((value as Record<string, unknown>)[key], [...path, key]);
    if (found) return found;
  }
  return undefined;
}

function describe(value: unknown): string {
  if (value === null || value === undefined) return 'an empty file';
  return Array.isArray(value) ? 'a list' : `a ${typeof value}`;
}
