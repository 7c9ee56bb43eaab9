import { posix } from 'node:path';
import { InputError } from '../errors.js';

/** Words that need no quoting in a POSIX shell: nothing here is special to sh. */
const SAFE_WORD = /^[A-Za-z0-9_/.:=@%+,-]+$/;
/** A UTF-16 surrogate without its pair (String#isWellFormed is not in this TS target's lib). */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * Quotes one argument for a POSIX shell, so the remote shell sees exactly this string as one word.
 * Single quotes disable every expansion; a single quote inside is written as '\''. NUL cannot be
 * passed through a shell at all and is refused.
 */
export function quote(arg: string): string {
  if (arg.includes('\0')) throw new InputError('a shell argument may not contain a NUL byte');
  // A lone surrogate would reach the host as U+FFFD: a different value than the one given.
  if (LONE_SURROGATE.test(arg))
    throw new InputError(`a shell argument is not well-formed Unicode: ${JSON.stringify(arg)}`);
  if (arg !== '' && SAFE_WORD.test(arg)) return arg;
  return `'${arg.replaceAll("'", `'\\''`)}'`;
}

/** A command line from separate arguments, each quoted: the only way remote commands are built. */
export function command(...args: ReadonlyArray<string>): string {
  return args.map(quote).join(' ');
}

/** Joins already-built commands so each runs only if the previous one succeeded. */
export function and(...commands: ReadonlyArray<string>): string {
  return commands.join(' && ');
}

/**
 * A remote path under `base`, refusing anything that would land outside it (`..`, empty names,
 * control characters); an absolute part is taken relative to `base`. `base` itself must be absolute
 * and normal.
 */
export function remotePathInside(base: string, ...parts: string[]): string {
  assertAbsoluteRemotePath(base, 'base directory');
  if (parts.some(hasControlCharacter)) {
    throw new InputError(`path ${JSON.stringify(parts.join('/'))} contains a control character`);
  }
  // Without a trailing slash: "a/../" or "/" must read as the base itself, which is refused.
  const path = posix.join(base, ...parts).replace(/(.)\/+$/, '$1');
  if (path === base || !path.startsWith(`${base.endsWith('/') ? base : `${base}/`}`)) {
    throw new InputError(`path ${JSON.stringify(parts.join('/'))} resolves outside ${base}`);
  }
  return path;
}

/** An absolute, normalised POSIX path without control characters. */
export function assertAbsoluteRemotePath(path: string, what: string): void {
  if (!path.startsWith('/') || posix.normalize(path) !== path || hasControlCharacter(path) || path === '/') {
    throw new InputError(
      `${what} ${JSON.stringify(path)} must be an absolute, normalised path other than / (no "..", no control characters)`,
    );
  }
}

function hasControlCharacter(text: string): boolean {
  return [...text].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f);
}
