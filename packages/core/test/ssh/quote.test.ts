import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { InputError } from '../../src/errors.js';
import { and, assertAbsoluteRemotePath, command, quote, remotePathInside } from '../../src/ssh/quote.js';
import { tempDir } from '../support/fixtures.js';

/** Runs `sh -c` in `cwd` and returns its stdout as raw bytes. */
function sh(script: string, cwd: string): Buffer {
  return execFileSync('sh', ['-c', script], {
    cwd,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: cwd },
  });
}

describe('quote', () => {
  test.each([
    ['plain word', 'hello', 'hello'],
    ['path', '/srv/sandboxer/sbx-1', '/srv/sandboxer/sbx-1'],
    ['option-like word (quoting cannot stop option parsing; commands use --)', '-rf', '-rf'],
    ['user@host:port', 'sbxtest@127.0.0.1:2222', 'sbxtest@127.0.0.1:2222'],
    ['key=value', 'a=b,c+d%e', 'a=b,c+d%e'],
    ['empty string', '', "''"],
    ['space', 'a b', "'a b'"],
    ['single quote', "it's", `'it'\\''s'`],
    ['only a single quote', "'", `''\\'''`],
    ['double quote', 'say "hi"', `'say "hi"'`],
    ['command substitution', '$(touch /tmp/pwned)', "'$(touch /tmp/pwned)'"],
    ['backticks', '`id`', "'`id`'"],
    ['semicolon', '; rm -rf ~', "'; rm -rf ~'"],
    ['newline', 'a\nb', "'a\nb'"],
    ['glob', '*', "'*'"],
    ['tilde', '~', "'~'"],
    ['unicode', 'héllo wörld ✓', "'héllo wörld ✓'"],
  ])('%s', (_name, value, expected) => {
    expect(quote(value)).toBe(expected);
  });

  test.each([
    ['a NUL byte', 'a\0b'],
    ['only a NUL byte', '\0'],
  ])('refuses %s with InputError', (_name, value) => {
    expect(() => quote(value)).toThrow(InputError);
    expect(() => quote(value)).toThrow('a shell argument may not contain a NUL byte');
    expect(() => command('echo', value)).toThrow(InputError);
  });
});

/**
 * Hostile values, each with a side effect that would show if the shell expanded anything: a file
 * created in the sandbox dir (`$(touch …)`, backticks, `;`), or globbing/tilde expansion changing
 * the output.
 */
function hostileValues(dir: string): Array<[string, string]> {
  const marker = join(dir, 'pwned');
  return [
    ['$(touch …)', `$(touch ${marker})`],
    ['backticks', `\`touch ${marker}\``],
    ['semicolon', `; touch ${marker}`],
    ['&&', `x && touch ${marker}`],
    ['pipe', `x | touch ${marker}`],
    ['redirect', `> ${marker}`],
    ['background', `& touch ${marker} &`],
    ['newline then command', `a\ntouch ${marker}\nb`],
    ['; rm -rf ~', '; rm -rf ~'],
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a literal ${HOME} is the hostile value.
    ['variable', '$HOME ${HOME} $0 $$ $1'],
    ['arithmetic', '$((1+1))'],
    ['single quotes', "'; touch pwned; '"],
    ["'\\'' sequence itself", `'\\''`],
    ['double quotes', `"$(touch ${marker})"`],
    ['backslashes', 'a\\b\\\\c\\n\\'],
    ['glob *', '*'],
    ['glob ? and []', '?[a-z]*'],
    ['braces', '{a,b}'],
    ['tilde', '~'],
    ['tilde path', '~/x'],
    ['option-like', '-rf'],
    ['double dash', '--'],
    ['empty', ''],
    ['spaces and tabs', '  a \t b  '],
    ['trailing newlines', 'a\n\n'],
    ['CR LF', 'a\r\nb'],
    ['control characters', '\x01\x1b[31mred\x7f'],
    ['unicode', 'héllo wörld ✓ 日本語 🙂'],
    ['comment', '# not a comment'],
    ['history and negation', '!! ! x'],
    ['assignment-looking', 'PATH=/nowhere'],
  ];
}

describe('quote survives a real sh: output equals the input byte for byte, nothing runs', () => {
  const dir = tempDir('sbx-quote-');
  // Files a glob would expand to, so `*` would visibly change the output if it were not quoted.
  execFileSync('touch', [join(dir, 'file-a'), join(dir, 'file-b')]);
  const before = readdirSync(dir).sort();

  test.each(hostileValues(dir))('%s', (_name, value) => {
    const out = sh(`printf '%s' ${quote(value)}`, dir);
    expect(out.equals(Buffer.from(value, 'utf8')), JSON.stringify(out.toString('utf8'))).toBe(true);
    expect(existsSync(join(dir, 'pwned'))).toBe(false);
    expect(readdirSync(dir).sort()).toEqual(before);
  });

  test('command() keeps every hostile value a separate argument', () => {
    const values = hostileValues(dir).map(([, value]) => value);
    // printf '%s\0' prints each argument followed by NUL, so word splitting would show.
    const out = sh(command('printf', '%s\\0', ...values), dir);
    expect(out.toString('utf8').split('\0').slice(0, -1)).toEqual(values);
    expect(existsSync(join(dir, 'pwned'))).toBe(false);
    expect(readdirSync(dir).sort()).toEqual(before);
  });
});

describe('command and and', () => {
  test.each([
    [['ls'], 'ls'],
    [['mkdir', '-p', '/srv/sandboxer/sbx-1'], 'mkdir -p /srv/sandboxer/sbx-1'],
    [['echo', 'a b', "c'd"], `echo 'a b' 'c'\\''d'`],
    [['echo', ''], "echo ''"],
    [['rm', '-rf', '--', '$(x)'], "rm -rf -- '$(x)'"],
    [[], ''],
  ])('command(%j) is %j', (args, expected) => {
    expect(command(...args)).toBe(expected);
  });

  test('and() chains built commands with &&, and stops at the first failure', () => {
    const dir = tempDir('sbx-and-');
    const joined = and(command('true'), command('false'), command('touch', join(dir, 'ran')));
    expect(joined).toBe(`true && false && touch ${join(dir, 'ran')}`);
    expect(() => sh(joined, dir)).toThrow();
    expect(existsSync(join(dir, 'ran'))).toBe(false);
    expect(and()).toBe('');
    expect(and('a')).toBe('a');
  });
});

describe('remotePathInside', () => {
  test.each([
    ['a name', ['sbx-1'], '/srv/sandboxer/sbx-1'],
    ['nested parts', ['sbx-1', 'repo', 'src'], '/srv/sandboxer/sbx-1/repo/src'],
    ['a slash inside a part', ['sbx-1/repo'], '/srv/sandboxer/sbx-1/repo'],
    ['.. that stays inside', ['a/../b'], '/srv/sandboxer/b'],
    ['a leading slash is joined, not taken as absolute', ['/abs'], '/srv/sandboxer/abs'],
    ['a name with spaces and quotes (quoted later)', ["it's a dir"], "/srv/sandboxer/it's a dir"],
  ])('%s', (_name, parts, expected) => {
    expect(remotePathInside('/srv/sandboxer', ...parts)).toBe(expected);
  });

  test('a base with a trailing slash works the same', () => {
    expect(remotePathInside('/srv/sandboxer/', 'sbx-1')).toBe('/srv/sandboxer/sbx-1');
  });

  test.each([
    ['../../etc', ['../../etc']],
    ['..', ['..']],
    ['a/../../b', ['a/../../b']],
    ['a sibling with the same prefix', ['../sandboxer2']],
    ['.. split over parts', ['a', '..', '..', 'etc']],
    ['.', ['.']],
    ["''", ['']],
    ['no parts', []],
    ['a/.. (the base itself)', ['a', '..']],
  ])('refuses %s', (_name, parts) => {
    expect(() => remotePathInside('/srv/sandboxer', ...parts)).toThrow(InputError);
    expect(() => remotePathInside('/srv/sandboxer', ...parts)).toThrow(
      `path ${JSON.stringify(parts.join('/'))} resolves outside /srv/sandboxer`,
    );
  });

  test.each([
    ['relative', 'srv/sandboxer'],
    ['empty', ''],
    ['/', '/'],
    ['with ..', '/srv/../etc'],
    ['ending in ..', '/srv/sandboxer/..'],
    ['with .', '/srv/./sandboxer'],
    ['with //', '/srv//sandboxer'],
    ['with a newline', '/srv/sandbox\ner'],
    ['with a NUL', '/srv/sandboxer\0'],
    ['with DEL', '/srv/sandboxer\x7f'],
    ['starting with ~', '~/sandboxer'],
  ])('refuses a base that is %s', (_name, base) => {
    expect(() => remotePathInside(base, 'sbx-1')).toThrow(InputError);
    expect(() => remotePathInside(base, 'sbx-1')).toThrow(
      `base directory ${JSON.stringify(base)} must be an absolute, normalised path other than / (no "..", no control characters)`,
    );
  });
});

describe('assertAbsoluteRemotePath', () => {
  test.each(['/srv/sandboxer', '/build', "/srv/it's", '/srv/a b'])('accepts %j', (path) => {
    expect(() => assertAbsoluteRemotePath(path, 'base_dir')).not.toThrow();
  });

  test('names what the path is for', () => {
    expect(() => assertAbsoluteRemotePath('rel', 'base_dir')).toThrow(/^base_dir "rel" must be an absolute/);
  });
});
