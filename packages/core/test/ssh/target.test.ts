import { describe, expect, test } from 'vitest';
import { InputError } from '../../src/errors.js';
import { destination, parseDestination } from '../../src/ssh/target.js';

describe('parseDestination', () => {
  test.each([
    ['u@h', { user: 'u', address: 'h' }],
    ['u@h:2222', { user: 'u', address: 'h', port: 2222 }],
    ['u@[::1]:22', { user: 'u', address: '::1', port: 22 }],
    ['u@[::1]', { user: 'u', address: '::1' }],
    ['u@[fe80::1:2]:65535', { user: 'u', address: 'fe80::1:2', port: 65_535 }],
    ['u@127.0.0.2:2222', { user: 'u', address: '127.0.0.2', port: 2222 }],
    ['sbxtest@docker-1.example.com:1', { user: 'sbxtest', address: 'docker-1.example.com', port: 1 }],
    ['_deploy.ci-1@H', { user: '_deploy.ci-1', address: 'H' }],
  ])('%s', (text, expected) => {
    expect(parseDestination(text)).toEqual(expected);
  });

  const why = (text: string, reason: string) =>
    `host ${JSON.stringify(text)}: ${reason} (expected user@address[:port] or a hosts-file alias)`;

  test.each([
    ['h', 'not a destination'],
    ['@h', 'not a destination'],
    ['u@', 'not a destination'],
    ['', 'not a destination'],
    ['u@h:', 'not a destination'],
    ['u@h:22:33', 'not a destination'],
    ['u@h:123456', 'not a destination'],
    ['u@h:-1', 'not a destination'],
    ['u@h:2x', 'not a destination'],
    ['u@h x', 'not a destination'],
    ['u @h', 'not a destination'],
    ['u@h\n', 'not a destination'],
    ['u@h\nrm -rf ~', 'not a destination'],
    ['u@h\t', 'not a destination'],
    ['u@[]', 'not a destination'],
    ['u@[::1', 'not a destination'],
    ['u@h:0', 'port 0 is out of range'],
    ['u@h:70000', 'port 70000 is out of range'],
    ['u@h:65536', 'port 65536 is out of range'],
    ['u;rm@h', '"u;rm" is not a valid user name'],
    ['-oProxyCommand=x@h', '"-oProxyCommand=x" is not a valid user name'],
    ['u@v@h', '"v@h" is not a valid host name or address'],
    ['1u@h', '"1u" is not a valid user name'],
    ['u$(id)@h', '"u$(id)" is not a valid user name'],
    [`${'u'.repeat(33)}@h`, `"${'u'.repeat(33)}" is not a valid user name`],
    ['u@h;rm', '"h;rm" is not a valid host name or address'],
    ['u@-oProxyCommand=x', '"-oProxyCommand=x" is not a valid host name or address'],
    ['u@h-', '"h-" is not a valid host name or address'],
    ['u@h_1', '"h_1" is not a valid host name or address'],
    ['u@$(id)', '"$(id)" is not a valid host name or address'],
    ['u@`id`', '"`id`" is not a valid host name or address'],
    ['u@[h;rm]', '"h;rm" is not a valid host name or address'],
    ['u@[-oProxyCommand=x]', '"-oProxyCommand=x" is not a valid host name or address'],
  ])('refuses %j: %s', (text, reason) => {
    expect(() => parseDestination(text)).toThrow(InputError);
    expect(() => parseDestination(text)).toThrow(why(text, reason));
  });

  test('the error carries the host as a detail', () => {
    try {
      parseDestination('u@h:0');
      expect.unreachable();
    } catch (error) {
      expect((error as InputError).details).toEqual({ field: 'host', host: 'u@h:0' });
    }
  });

  test.each(['u@[example.com', 'u@[12', 'u@[h2:22'])('refuses an unclosed bracket in %j', (text) => {
    expect(() => parseDestination(text)).toThrow(InputError);
  });
});

describe('destination', () => {
  test.each([
    [{ user: 'u', address: 'h', port: 22 }, 'u@h:22'],
    [{ user: 'sbxtest', address: '127.0.0.2', port: 2222 }, 'sbxtest@127.0.0.2:2222'],
    [{ user: 'u', address: '::1', port: 2222 }, 'u@[::1]:2222'],
  ])('%j is %s and parses back to the same target', (target, text) => {
    expect(destination(target)).toBe(text);
    expect(parseDestination(text)).toEqual(target);
  });
});
