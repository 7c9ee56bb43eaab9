import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join, posix } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it, test } from 'vitest';
import { InputError } from '../../src/errors.js';
import { and, assertAbsoluteRemotePath, command, quote, remotePathInside } from '../../src/ssh/quote.js';
import {
  argvThroughShell,
  batchOf,
  expectTypedError,
  fcOptions,
  hostileFileName,
  hostileString,
  hostileStringWithNul,
  removeScratch,
  SHELL_RUNS,
  scratchDir,
  thrown,
} from './support.js';

/**
 * quote/command/and and the remote path helpers, against arbitrary strings: a real `/bin/sh -c`
 * must hand `printf '%s\0'` exactly the arguments that went in, and nothing may run or expand.
 */

afterAll(removeScratch);

const dir = scratchDir('quote');
// Files a glob would expand to, so an unquoted `*` or `?` would change the argv.
execFileSync('touch', [join(dir, 'file-a'), join(dir, 'file-b')]);
const listing = () => readdirSync(dir).sort();
const before = listing();

const hasControl = (text: string) =>
  [...text].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f);

describe('command() through a real sh', () => {
  /** One `printf` per case, its argument count first, so a whole batch is checked by one sh. */
  const printfCase = (args: string[]) => command('printf', '%s\\0', String(args.length), ...args);
  const expected = (cases: string[][]) => cases.flatMap((args) => [String(args.length), ...args]);

  test('every argument arrives exactly as given, and nothing runs', () => {
    fc.assert(
      fc.property(batchOf(fc.array(hostileString(), { maxLength: 6 })), (cases) => {
        expect(argvThroughShell(cases.map(printfCase).join('\n'), dir)).toEqual(expected(cases));
        expect(listing()).toEqual(before);
      }),
      fcOptions(SHELL_RUNS),
    );
  });

  test('quote() is one word for any string, even glued to other words', () => {
    fc.assert(
      fc.property(batchOf(fc.tuple(hostileString(), hostileString())), (cases) => {
        const script = cases.map(([a, b]) => `printf '%s\\0' x${quote(a)}y ${quote(b)}`).join('\n');
        expect(argvThroughShell(script, dir)).toEqual(cases.flatMap(([a, b]) => [`x${a}y`, b]));
      }),
      fcOptions(SHELL_RUNS),
    );
  });

  test('and() runs each command in order and keeps their arguments apart', () => {
    fc.assert(
      fc.property(
        batchOf(fc.array(fc.array(hostileString(), { maxLength: 3 }), { minLength: 1, maxLength: 4 })),
        (cases) => {
          const script = cases.map((groups) => and(...groups.map(printfCase))).join('\n');
          expect(argvThroughShell(script, dir)).toEqual(cases.flatMap(expected));
        },
      ),
      fcOptions(SHELL_RUNS),
    );
  });

  test('a NUL anywhere is refused with an InputError, never passed on truncated', () => {
    fc.assert(
      fc.property(fc.array(hostileStringWithNul(), { maxLength: 4 }), (args) => {
        const error = thrown(() => command('printf', '%s\\0', ...args));
        if (args.some((a) => a.includes('\0'))) expectTypedError(error, InputError, 'NUL');
        else expect(error).toBeUndefined();
      }),
      fcOptions(),
    );
  });

  // Found by this suite. A lone UTF-16 surrogate (possible in a JSON or YAML string, e.g. an input sent
  // to the HTTP API as "\ud800") is quoted as it is; the command text is then encoded as UTF-8, which
  // turns the surrogate into U+FFFD, so the remote command silently receives a different value.
  // quote() should refuse it like a NUL (or the inputs layer should).
  it('a lone surrogate is refused or reaches the shell unchanged', () => {
    const value = 'a\ud800b';
    const error = thrown(() => quote(value));
    if (error === undefined) {
      expect(argvThroughShell(command('printf', '%s\\0', value), dir)).toEqual([value]);
    } else {
      expectTypedError(error, InputError);
    }
  });
});

/** Absolute, normalised bases other than `/`, of hostile but control-free names. */
const validBase = fc
  .array(
    hostileFileName().filter((s) => !hasControl(s)),
    { minLength: 1, maxLength: 3 },
  )
  .map((segments) => `/${segments.join('/')}`);

/** Path parts biased to `..`, `.`, slashes and empty names. */
const pathPart = fc.oneof(
  fc.constantFrom('..', '.', '', '/', '../', './', '//', 'a/..', 'a/../..', 'sbx-1', '~', '-rf'),
  hostileString(12),
  fc
    .array(fc.constantFrom('..', '.', 'a', 'b c', '', "it's", '$(x)'), { maxLength: 5 })
    .map((xs) => xs.join('/')),
);

/** The one case the property below sets aside: the base itself with a trailing slash (refused since the fix). */
const isBaseWithSlash = (base: string, result: string) => result === `${base}/`;

describe('remotePathInside', () => {
  test('never yields a path outside the base (or the base itself); refusals name the path', () => {
    fc.assert(
      fc.property(validBase, fc.array(pathPart, { maxLength: 4 }), (base, parts) => {
        let result: string | undefined;
        const error = thrown(() => {
          result = remotePathInside(base, ...parts);
        });
        if (error !== undefined) {
          expectTypedError(error, InputError, JSON.stringify(parts.join('/')));
          return;
        }
        const path = result as string;
        fc.pre(!isBaseWithSlash(base, path));
        // Normalised without a trailing slash ("a/" is the directory a).
        expect(path).toBe(posix.join(base, ...parts).replace(/(.)\/+$/, '$1'));
        expect(posix.normalize(path)).toBe(path);
        const rel = posix.relative(base, path);
        expect(rel).not.toBe('');
        expect(rel.split('/')).not.toContain('..');
        expect(posix.isAbsolute(rel)).toBe(false);
        expect(hasControl(path)).toBe(false);
      }),
      fcOptions(),
    );
  });

  test('a part with a control character is always refused, naming it', () => {
    fc.assert(
      fc.property(
        validBase,
        hostileString(8),
        fc.constantFrom('\n', '\r', '\t', '\x01', '\x1b', '\x7f'),
        hostileString(8),
        (base, a, control, b) => {
          const part = `${a}${control}${b}`;
          expectTypedError(
            thrown(() => remotePathInside(base, part)),
            InputError,
            JSON.stringify(part),
            'control character',
          );
        },
      ),
      fcOptions(),
    );
  });

  // Found by this suite: `path === base` misses the base spelt with a trailing slash, which posix.join
  // keeps, so parts that normalise to the base itself are accepted. composeFilesInput then accepts
  // compose_files "x/../" (a directory).
  it.each([['/'], ['a/../'], ['./'], ['sbx-1/../']])('refuses %j, which is the base itself', (part) => {
    expect(() => remotePathInside('/srv/sandboxer', part)).toThrow(InputError);
  });
});

describe('assertAbsoluteRemotePath', () => {
  const pathLike = fc.oneof(
    hostileString(20),
    fc.array(pathPart, { maxLength: 4 }).map((parts) => `/${parts.join('/')}`),
  );

  test('accepts only absolute, normalised, control-free paths other than /; refusals name the path', () => {
    fc.assert(
      fc.property(pathLike, (path) => {
        const error = thrown(() => assertAbsoluteRemotePath(path, 'base_dir'));
        const good =
          path.startsWith('/') && path !== '/' && posix.normalize(path) === path && !hasControl(path);
        if (good) expect(error).toBeUndefined();
        else expectTypedError(error, InputError, 'base_dir', JSON.stringify(path));
      }),
      fcOptions(),
    );
  });
});
