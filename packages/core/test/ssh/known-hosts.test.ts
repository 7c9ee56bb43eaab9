import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import { fingerprintOf, knownKeysFor } from '../../src/ssh/known-hosts.js';
import { tempDir } from '../support/fixtures.js';

interface Key {
  /** `ssh-ed25519 AAAA…` as in a known_hosts line. */
  line: string;
  blob: Buffer;
  /** What `ssh-keygen -lf` prints for it. */
  fingerprint: string;
}

const dir = tempDir('sbx-known-hosts-');

/** A real key pair made by ssh-keygen (no passphrase). */
function makeKey(name: string, type = 'ed25519'): Key {
  const path = join(dir, name);
  execFileSync('ssh-keygen', ['-q', '-t', type, '-N', '', '-C', name, '-f', path]);
  const [kind, base64] = readFileSync(`${path}.pub`, 'utf8').trim().split(' ');
  const printed = execFileSync('ssh-keygen', ['-lf', `${path}.pub`], { encoding: 'utf8' });
  const fingerprint = /\b(SHA256:[A-Za-z0-9+/]+)/.exec(printed)?.[1];
  if (!kind || !base64 || !fingerprint) throw new Error(`unexpected ssh-keygen output: ${printed}`);
  return { line: `${kind} ${base64}`, blob: Buffer.from(base64, 'base64'), fingerprint };
}

let n = 0;
function knownHosts(text: string): string {
  n += 1;
  const path = join(dir, `known_hosts_${n}`);
  writeFileSync(path, text);
  return path;
}

/** The text with every host name hashed, as `ssh-keygen -H` does for real users. */
function hashed(text: string): string {
  const path = knownHosts(text);
  execFileSync('ssh-keygen', ['-q', '-H', '-f', path], { stdio: 'ignore' });
  const out = readFileSync(path, 'utf8');
  expect(out).not.toMatch(/127\.0\.0|example/);
  expect(out).toMatch(/^\|1\|/m);
  return out;
}

let a: Key;
let b: Key;
let c: Key;
let rsa: Key;

beforeAll(() => {
  a = makeKey('a');
  b = makeKey('b');
  c = makeKey('c');
  rsa = makeKey('rsa', 'rsa');
});

describe('fingerprintOf', () => {
  test('matches ssh-keygen -lf for ed25519 and RSA keys', () => {
    for (const key of [a, b, c, rsa]) {
      expect(fingerprintOf(key.blob)).toBe(key.fingerprint);
      expect(fingerprintOf(key.blob)).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/);
    }
  });

  test('different keys have different fingerprints', () => {
    expect(new Set([a, b, c, rsa].map((k) => fingerprintOf(k.blob))).size).toBe(4);
  });
});

describe('knownKeysFor', () => {
  test.each<[string, () => string, string, number, () => Key[]]>([
    ['port 22 is the bare address', () => `h1.example ${a.line}\n`, 'h1.example', 22, () => [a]],
    [
      'port 22 does not match a [h]:2222 entry',
      () => `[h1.example]:2222 ${a.line}\n`,
      'h1.example',
      22,
      () => [],
    ],
    ['another port is [address]:port', () => `[127.0.0.1]:2222 ${a.line}\n`, '127.0.0.1', 2222, () => [a]],
    [
      'another port does not match the bare address',
      () => `127.0.0.1 ${a.line}\n`,
      '127.0.0.1',
      2222,
      () => [],
    ],
    ['the port must match', () => `[127.0.0.1]:2223 ${a.line}\n`, '127.0.0.1', 2222, () => []],
    [
      'the address must match exactly',
      () => `127.0.0.10 ${a.line}\n127.0.0 ${b.line}\n`,
      '127.0.0.1',
      22,
      () => [],
    ],
    [
      'a comma list, each name',
      () => `h1.example,10.0.0.1,[10.0.0.1]:2222 ${a.line}\n`,
      '10.0.0.1',
      22,
      () => [a],
    ],
    ['a comma list, port form', () => `h1,[10.0.0.1]:2222 ${a.line}\n`, '10.0.0.1', 2222, () => [a]],
    [
      'every key listed for the host, in file order',
      () => `h ${b.line}\nother ${c.line}\nh ${a.line}\nh ${rsa.line}\n`,
      'h',
      22,
      () => [b, a, rsa],
    ],
    [
      'comments, blank lines, CRLF and key comments',
      () => `# h ${c.line}\n\n  \r\nh ${a.line} some comment\r\n`,
      'h',
      22,
      () => [a],
    ],
    [
      '@revoked and @cert-authority lines are not trusted',
      () => `@revoked h ${b.line}\n@cert-authority h ${c.line}\nh ${a.line}\n`,
      'h',
      22,
      () => [a],
    ],
    [
      'only marker lines: nothing',
      () => `@revoked h ${b.line}\n@cert-authority h ${c.line}\n`,
      'h',
      22,
      () => [],
    ],
    ['an empty file', () => '', 'h', 22, () => []],
    ['a line without a key is skipped', () => `h ssh-ed25519\nh\nh ${a.line}\n`, 'h', 22, () => [a]],
    [
      'a wildcard is not expanded (fails closed)',
      () => `* ${a.line}\n*.example ${b.line}\n`,
      'h.example',
      22,
      () => [],
    ],
  ])('%s', (_name, text, address, port, expected) => {
    const keys = knownKeysFor(knownHosts(text()), address, port);
    expect(keys.map(fingerprintOf)).toEqual(expected().map((k) => k.fingerprint));
    expect(keys).toEqual(expected().map((k) => k.blob));
  });

  describe('hashed entries (ssh-keygen -H)', () => {
    test.each<[string, string, number, () => Key[]]>([
      ['port 22', 'h1.example', 22, () => [a]],
      ['[address]:port', '127.0.0.1', 2222, () => [b]],
      ['each name of a comma list gets its own hashed line', '10.0.0.9', 22, () => [c]],
      ['the port form of a comma list', '10.0.0.9', 2200, () => [c]],
      ['a host that is not listed', 'h2.example', 22, () => []],
      ['the right address on the wrong port', '127.0.0.1', 22, () => []],
    ])('%s', (_name, address, port, expected) => {
      // ssh-keygen -H leaves marker lines alone, so the revoked one is hashed on its own and marked after.
      const revoked = `@revoked ${hashed(`h2.example ${rsa.line}\n`)}`;
      const path = knownHosts(
        hashed(`h1.example ${a.line}\n[127.0.0.1]:2222 ${b.line}\n10.0.0.9,[10.0.0.9]:2200 ${c.line}\n`) +
          revoked,
      );
      expect(knownKeysFor(path, address, port).map(fingerprintOf)).toEqual(
        expected().map((k) => k.fingerprint),
      );
    });

    test('a malformed hashed field does not match or throw', () => {
      const path = knownHosts(`|1|notbase64 ${a.line}\n|1|| ${a.line}\n|1|c2FsdA==|wrong ${a.line}\n`);
      expect(knownKeysFor(path, 'h', 22)).toEqual([]);
    });
  });

  test('a missing file throws ENOENT (the session turns it into a clear InputError)', () => {
    expect(() => knownKeysFor(join(dir, 'nope'), 'h', 22)).toThrow(/ENOENT/);
  });
});
