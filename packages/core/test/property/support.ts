import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { expect } from 'vitest';
import type { SandboxerError } from '../../src/errors.js';

/**
 * Shared pieces of the property-based hostile-input tests: arbitraries biased towards what a shell
 * or a path would read specially, and a real `/bin/sh` with stand-in programs that record the argv
 * they receive, so "the remote command keeps every value inside its quoting" is checked by running
 * it, not by reading it.
 */

/**
 * One scratch root per test file (the module is loaded once per file): properties make hundreds of
 * directories, so each file removes its root when done with `afterAll(removeScratch)`.
 */
const scratchRoot = mkdtempSync(join(tmpdir(), 'sbx-prop-'));

/** A fresh directory under this file's scratch root. */
export function scratchDir(name = 'dir'): string {
  return mkdtempSync(join(scratchRoot, `${name}-`));
}

export function removeScratch(): void {
  rmSync(scratchRoot, { recursive: true, force: true });
}

/** Runs per property: enough to find quoting slips, few enough that the unit suite stays fast. */
export const RUNS = 300;

/**
 * Properties that spawn a shell check a batch of cases per run (one `sh` for all of them): this many
 * runs of up to BATCH cases each.
 */
export const SHELL_RUNS = 50;
export const BATCH = 10;

/** Up to BATCH values of `arb`, checked together in one shell. */
export function batchOf<T>(arb: fc.Arbitrary<T>): fc.Arbitrary<T[]> {
  return fc.array(arb, { minLength: 1, maxLength: BATCH });
}

/** Fixed seed via FC_SEED for reproducing a failure; fast-check prints the seed and path otherwise. */
export const fcOptions = (numRuns = RUNS): fc.Parameters<unknown> => ({
  numRuns,
  ...(process.env.FC_SEED ? { seed: Number(process.env.FC_SEED) } : {}),
});

/** Fragments a shell, a path or a parser treats specially; joined into strings by `hostileString`. */
export const HOSTILE_PIECES = [
  "'",
  '"',
  '\\',
  '`',
  '$(',
  ')',
  '${',
  '}',
  '$',
  "'\\''",
  '\n',
  '\r',
  '\t',
  ' ',
  ';',
  '&',
  '&&',
  '|',
  '||',
  '>',
  '<',
  '*',
  '?',
  '[',
  ']',
  '~',
  '#',
  '!',
  '-',
  '--',
  '-rf',
  '=',
  ',',
  ':',
  '@',
  '%s',
  '%',
  '/',
  '..',
  '.',
  '../',
  'sbx-',
  '\x01',
  '\x1b[31m',
  '\x7f',
  '\u0085',
  '\u00a0',
  '\u2028',
  '\ufeff',
  'é',
  '日本',
  '🙂',
  'a',
  'Z',
  '0',
  '_',
  'touch pwned',
];

/** Strings without NUL: hostile fragments, arbitrary code points and plain ASCII, mixed. */
export function hostileString(maxLength = 24): fc.Arbitrary<string> {
  const unit = fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(...HOSTILE_PIECES) },
    { weight: 2, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }) },
    { weight: 2, arbitrary: fc.string({ unit: 'binary-ascii', minLength: 1, maxLength: 1 }) },
  );
  return fc.string({ unit, maxLength }).map((s) => s.replaceAll('\0', ''));
}

/** As `hostileString`, but sometimes with NUL bytes in it. */
export function hostileStringWithNul(maxLength = 24): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 4, arbitrary: hostileString(maxLength) },
    {
      weight: 1,
      arbitrary: fc.tuple(hostileString(8), hostileString(8)).map(([a, b]) => `${a}\0${b}`),
    },
  );
}

/**
 * A single file name a local file system accepts (no `/`, no NUL, not `.` or `..`, short enough),
 * for building real directories with hostile names.
 */
export function hostileFileName(): fc.Arbitrary<string> {
  return hostileString(16)
    .map((s) => s.replaceAll('/', ''))
    .filter((s) => s !== '' && s !== '.' && s !== '..' && Buffer.byteLength(s) <= 200);
}

/** Asserts a thrown value is the typed error expected, naming what was wrong (no TypeError etc.). */
export function expectTypedError(
  error: unknown,
  type: abstract new (...args: never[]) => SandboxerError,
  ...named: string[]
): void {
  expect(error, String(error)).toBeInstanceOf(type);
  for (const text of named) expect((error as Error).message).toContain(text);
}

/** Calls `fn` and returns what it threw, or undefined when it returned. */
export function thrown(fn: () => unknown): unknown {
  try {
    fn();
    return undefined;
  } catch (error) {
    return error;
  }
}

const ENV_START = '<env>';
const ENV_END = '</env>';

/** One recorded call of a stand-in program: its argv (after the name) and working directory. */
export interface RecordedCall {
  name: string;
  cwd: string;
  args: string[];
  /** `KEY=VALUE` entries, only when the call ran with DUMP_ENV set. */
  env?: string[];
}

export interface Shell {
  root: string;
  /** The directory of stand-ins, to put first in PATH for programs run without `sh` (rsync). */
  bin: string;
  /** Runs `sh -c script` with the stand-ins first in PATH; returns every recorded call in order. */
  run(
    script: string,
    options?: { cwd?: string; input?: string; env?: Record<string, string> },
  ): {
    status: number;
    stdout: string;
    stderr: string;
    calls: RecordedCall[];
  };
}

/**
 * A directory of stand-in programs (each a tiny sh script, so a call costs a millisecond, not a
 * Node start-up) that append their name, working directory and argv, NUL-separated, to a dump
 * file: arguments with quotes, newlines or any other byte but NUL survive exactly.
 */
export function shellWithStandIns(names: string[]): Shell {
  const root = scratchDir('shell');
  const bin = join(root, 'bin');
  mkdirSync(bin);
  for (const name of names) {
    const path = join(bin, name);
    // Every expansion is quoted, so no environment value (IFS, …) a test sets can change the record.
    writeFileSync(
      path,
      `#!/bin/sh\n{ printf '%s\\0' ${name} "$#" "$PWD" "$@"; if [ -n "$DUMP_ENV" ]; then printf '%s\\0' '${ENV_START}'; env -0; printf '%s\\0' '${ENV_END}'; fi; } >>"$DUMP_FILE"\n`,
    );
    chmodSync(path, 0o755);
  }
  let n = 0;
  return {
    root,
    bin,
    run(script, options = {}) {
      const dump = join(root, `dump-${n++}`);
      writeFileSync(dump, '');
      const result = spawnSync('/bin/sh', ['-c', script], {
        cwd: options.cwd ?? root,
        env: { PATH: `${bin}:/usr/bin:/bin`, LC_ALL: 'C', DUMP_FILE: dump, ...options.env },
        input: options.input ?? '',
        encoding: 'utf8',
      });
      if (result.error) throw result.error;
      return {
        status: result.status ?? -1,
        stdout: result.stdout,
        stderr: result.stderr,
        calls: parseDump(readFileSync(dump)),
      };
    },
  };
}

/** Reads a dump file the stand-ins appended to. */
export function parseDump(raw: Buffer): RecordedCall[] {
  const fields = raw.toString('utf8').split('\0');
  const calls: RecordedCall[] = [];
  let i = 0;
  const next = () => fields[i++] as string;
  while (i < fields.length - 1) {
    const name = next();
    const count = Number(next());
    const cwd = next();
    const args: string[] = [];
    for (let k = 0; k < count; k++) args.push(next());
    const call: RecordedCall = { name, cwd, args };
    // An env block is framed by markers no entry can equal: every entry holds a "=".
    if (fields[i] === ENV_START) {
      next();
      call.env = [];
      while (i < fields.length && fields[i] !== ENV_END) call.env.push(next());
      next();
    }
    calls.push(call);
  }
  return calls;
}

/** The argv a plain `sh -c` hands to `printf '%s\0'`: the oracle for command() and quote(). */
export function argvThroughShell(script: string, cwd: string): string[] {
  const result = spawnSync('/bin/sh', ['-c', script], { cwd, env: { PATH: '/usr/bin:/bin', LC_ALL: 'C' } });
  if (result.error) throw result.error;
  if (result.status !== 0) throw new Error(`sh exited ${result.status}: ${result.stderr.toString()}`);
  return result.stdout.toString('utf8').split('\0').slice(0, -1);
}

export { pwnedFiles } from '../support/fixtures.js';
