import { describe, expect, test } from 'vitest';
import { InputError } from '../../src/errors.js';
import { resolveTarget, resolveTargets } from '../../src/reach/targets.js';
import { recordWith } from './support.js';

describe('resolveTarget: what a forward or check name reaches', () => {
  const compose = recordWith({ 'web:8080': '127.0.0.1:49153', 'db:5432': '[::1]:5433' });
  const vm = recordWith({ tunnel: '127.0.0.1:7000' }, false);

  test.each([
    [compose, 'web:8080', { host: '127.0.0.1', port: 49153 }],
    [compose, 'db:5432', { host: '::1', port: 5433 }],
    [vm, 'tunnel', { host: '127.0.0.1', port: 7000 }],
    [vm, '8080', { host: '127.0.0.1', port: 8080 }],
    [vm, 'db.internal:5432', { host: 'db.internal', port: 5432 }],
  ])('%#: %s', (record, name, expected) => {
    expect(resolveTarget(record, name)).toEqual({ name, ...expected });
  });

  test("a compose sandbox's unpublished port is refused, naming the published ones and how to publish", () => {
    expect(() => resolveTarget(compose, 'worker:9000')).toThrow(
      /"worker:9000" is not a published port .*published: web:8080, db:5432.*127\.0\.0\.1::8080/,
    );
  });

  test('publishedOnly holds a VM workspace to its endpoints too', () => {
    expect(resolveTarget(vm, 'tunnel', { publishedOnly: true }).port).toBe(7000);
    for (const name of ['22', '127.0.0.1:22', '10.0.0.1:80']) {
      expect(() => resolveTarget(vm, name, { publishedOnly: true })).toThrow(InputError);
    }
  });

  test.each(['web', 'host:0', 'host:70000', 'a b:80', ':80', 'constructor', '__proto__'])(
    'a malformed name %j is an InputError',
    (name) => {
      expect(() => resolveTarget(vm, name)).toThrow(InputError);
    },
  );

  test('no names means every endpoint; an empty sandbox has none', () => {
    expect(resolveTargets(compose, []).map((t) => t.name)).toEqual(['web:8080', 'db:5432']);
    expect(resolveTargets(recordWith({}), [])).toEqual([]);
  });
});
