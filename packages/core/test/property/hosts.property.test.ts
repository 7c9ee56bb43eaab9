import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, afterEach, beforeEach, describe, expect, it, test, vi } from 'vitest';
import { stringify } from 'yaml';
import { ConfigError, InputError } from '../../src/errors.js';
import { loadHostsFile, resolveRemoteHost } from '../../src/hosts/resolve.js';
import { destination, isValidAddress, parseDestination } from '../../src/ssh/target.js';
import {
  expectTypedError,
  fcOptions,
  HOSTILE_PIECES,
  hostileString,
  removeScratch,
  scratchDir,
  thrown,
} from './support.js';

afterAll(removeScratch);

/**
 * Host aliases, `user@host:port` and hosts files, against arbitrary values: a parsed destination
 * never holds anything ssh or rsync could read as an option or a second word, and every refusal is a
 * typed error naming the value (and, for a hosts file, the file and the field).
 */

const USER = /^[a-z_][a-z0-9_.-]{0,31}$/i;
const ALIAS = /^[a-z0-9][a-z0-9_-]*$/i;

let home: string;
beforeEach(() => {
  home = scratchDir('home');
  vi.stubEnv('HOME', home);
});
afterEach(() => {
  vi.unstubAllEnvs();
});

const user = fc.oneof(fc.stringMatching(/^[a-z_][a-z0-9_.-]{0,8}$/), hostileString(8));
const hostname = fc.stringMatching(/^[a-z0-9]([a-z0-9.-]{0,20}[a-z0-9])?$/);
const ipv6 = fc.ipV6();
const address = fc.oneof(hostname, fc.ipV4(), ipv6, hostileString(10));
const port = fc.oneof(
  fc.integer({ min: 0, max: 99_999 }).map(String),
  fc.constantFrom('', '00022', '-1', '2a'),
);

/** `user@address[:port]`, well formed or not, with brackets where IPv6 needs them (and where not). */
const destinationText = fc.oneof(
  fc.tuple(user, address, fc.option(port), fc.boolean()).map(([u, a, p, bracket]) => {
    const host = bracket || a.includes(':') ? `[${a}]` : a;
    return `${u}@${host}${p === null ? '' : `:${p}`}`;
  }),
  fc
    .array(
      fc.oneof(
        fc.constantFrom('@', ':', '[', ']', 'u', 'h', '22', ' ', '-o'),
        fc.constantFrom(...HOSTILE_PIECES),
      ),
      {
        maxLength: 8,
      },
    )
    .map((xs) => xs.join('')),
  hostileString(20),
);

describe('parseDestination', () => {
  test('a strict user, address and port, or an InputError quoting --host', () => {
    fc.assert(
      fc.property(destinationText, (text) => {
        let parsed: ReturnType<typeof parseDestination> | undefined;
        const error = thrown(() => {
          parsed = parseDestination(text);
        });
        if (error !== undefined) {
          expectTypedError(error, InputError, `host ${JSON.stringify(text)}`);
          expect((error as InputError).details).toEqual({ field: 'host', host: text });
          return;
        }
        const p = parsed as ReturnType<typeof parseDestination>;
        // The known bug below: a bracketed "address" of dots and hex digits without any colon.
        fc.pre(!(text.includes('[') && !p.address.includes(':')));
        expect(p.user).toMatch(USER);
        expect(isValidAddress(p.address)).toBe(true);
        // Nothing ssh could take for an option, nothing a shell or rsync -e could split.
        for (const part of [p.user, p.address]) {
          expect(part.startsWith('-')).toBe(false);
          expect(part).toMatch(/^[A-Za-z0-9_.:-]+$/);
        }
        if (p.port !== undefined) {
          expect(Number.isInteger(p.port)).toBe(true);
          expect(p.port).toBeGreaterThanOrEqual(1);
          expect(p.port).toBeLessThanOrEqual(65_535);
        }
        // What is shown to users parses back to the same target.
        const shown = destination({ ...p, port: p.port ?? 22 });
        expect(parseDestination(shown)).toEqual({ ...p, port: p.port ?? 22 });
      }),
      fcOptions(),
    );
  });

  // Found by this suite: inside brackets parseDestination accepts anything of [0-9a-f:.], so
  // `u@[..]`, `u@[.]` or `u@[1.2]` give the address "..", "." or "1.2", which isValidAddress (and so
  // a hosts file) refuses, and whose displayed form (`u@..:22`) no longer parses. Nothing can be
  // injected (no dash, no space), but such a host is not an IPv6 address.
  // bracketed address must be IPv6 (contain a colon).
  it.each([['u@[..]'], ['u@[.]'], ['u@[1.2]']])('%j is refused like any invalid address', (text) => {
    expectTypedError(
      thrown(() => parseDestination(text)),
      InputError,
      `host ${JSON.stringify(text)}`,
    );
  });

  test('every well-formed destination parses to its parts', () => {
    fc.assert(
      fc.property(
        fc.stringMatching(/^[a-z_][a-z0-9_.-]{0,8}$/),
        fc.oneof(hostname, fc.ipV4(), ipv6),
        fc.option(fc.integer({ min: 1, max: 65_535 })),
        (u, a, p) => {
          const text = `${u}@${a.includes(':') ? `[${a}]` : a}${p === null ? '' : `:${p}`}`;
          expect(parseDestination(text)).toEqual(
            p === null ? { user: u, address: a } : { user: u, address: a, port: p },
          );
        },
      ),
      fcOptions(),
    );
  });
});

/** Writes a hosts file (YAML from an object, so it is always well-formed YAML) and returns its path. */
function writeHosts(content: unknown): string {
  const path = join(scratchDir('hosts'), 'hosts.yaml');
  writeFileSync(path, stringify(content));
  return path;
}

describe('hosts files', () => {
  const entry = fc.record(
    {
      address: fc.oneof(hostname, fc.ipV4(), ipv6, hostileString(10)),
      user: fc.oneof(fc.stringMatching(/^[a-z_][a-z0-9_.-]{0,8}$/), hostileString(8)),
      port: fc.oneof(fc.integer({ min: -5, max: 70_000 }), fc.constantFrom('22', 22.5, null)),
      base_dir: fc.oneof(fc.constantFrom('/srv/sandboxer', '~/sandboxer'), hostileString(10)),
      labels: fc.array(hostileString(6), { maxLength: 2 }),
    },
    { requiredKeys: ['address', 'user'] },
  );
  const alias = fc.oneof(
    fc.stringMatching(/^[a-z0-9][a-z0-9_-]{0,8}$/),
    hostileString(8),
    fc.constantFrom('__proto__', 'constructor', 'toString'),
  );

  test('loads exactly what is valid, or a ConfigError naming the file and the field', async () => {
    await fc.assert(
      fc.asyncProperty(fc.tuple(alias, entry), async ([name, e]) => {
        // The known bug below: zod drops a `__proto__` record key without a word.
        fc.pre(name !== '__proto__');
        const path = writeHosts({ hosts: { [name]: e } });
        let loaded: Awaited<ReturnType<typeof loadHostsFile>> | undefined;
        let error: unknown;
        try {
          loaded = await loadHostsFile(path, join(path, '..'));
        } catch (caught) {
          error = caught;
        }
        const bad = [
          ...(isValidAddress(e.address) ? [] : ['address']),
          ...(USER.test(e.user) ? [] : ['user']),
          ...(e.port === undefined ||
          (Number.isInteger(e.port) && Number(e.port) >= 1 && Number(e.port) <= 65_535)
            ? []
            : ['port']),
          ...(e.base_dir === '' ? ['base_dir'] : []),
          ...(e.labels ?? []).flatMap((label, i) => (label === '' ? [`labels[${i}]`] : [])),
        ];
        if (!ALIAS.test(name)) {
          expectTypedError(error, ConfigError, 'hosts.yaml: ', `hosts.${name}`);
        } else if (bad.length > 0) {
          expectTypedError(
            error,
            ConfigError,
            'hosts.yaml: ',
            ...bad.map((field) => `hosts.${name}.${field}`),
          );
        } else {
          expect(error, String(error)).toBeUndefined();
          expect(loaded?.hosts[name]).toMatchObject({ ...e, port: e.port ?? 22 });
          const host = resolveRemoteHost(name, loaded);
          expect(host?.ssh).toMatchObject({ address: e.address, user: e.user, port: e.port ?? 22 });
        }
      }),
      fcOptions(200),
    );
  });

  test('--host resolves to an alias, a strict user@address[:port], or an InputError naming it', async () => {
    const path = writeHosts({
      default: 'docker-1',
      hosts: { 'docker-1': { address: '10.0.0.5', user: 'deploy' } },
    });
    const file = await loadHostsFile(path);
    const names = fc.oneof(destinationText, alias, fc.constantFrom('docker-1', 'docker-2', 'local'));
    fc.assert(
      fc.property(names, (name) => {
        // Inherited property names are the known bug below.
        fc.pre(!(name in {}));
        let host: ReturnType<typeof resolveRemoteHost>;
        const error = thrown(() => {
          host = resolveRemoteHost(name, file);
        });
        if (name === 'docker-1') {
          expect(host?.ssh).toMatchObject({ address: '10.0.0.5', user: 'deploy', port: 22 });
        } else if (error !== undefined) {
          expect(error).toBeInstanceOf(InputError);
          expect((error as InputError).details).toEqual({ field: 'host', host: name });
        } else {
          // Not an alias: only a well-formed destination gets here.
          expect(name).toContain('@');
          expect(host?.ssh.user).toMatch(USER);
          expect(isValidAddress(host?.ssh.address ?? '')).toBe(true);
          expect(host?.name).toBe(destination(host?.ssh ?? { address: '', user: '', port: 0 }));
        }
      }),
      fcOptions(),
    );
  });

  // Found by this suite: `hostsFile.hosts[name]` reads inherited properties, so `--host constructor`
  // (or toString, __proto__, hasOwnProperty …) resolves to a "host" with no address, user or port
  // instead of an "unknown host" InputError: `sandboxer create -p compose-e2e -i repo=. --host
  // constructor` with any hosts file fails in provision (exit 4, a failed record, "rollback failed")
  // instead of exiting 2. `default: constructor` in a hosts file is accepted by loadHostsFile for the
  // same reason (`in`).
  it.each([['constructor'], ['toString'], ['__proto__'], ['hasOwnProperty']])(
    '--host %j is an unknown host',
    async (name) => {
      const file = await loadHostsFile(writeHosts({ hosts: { a: { address: 'h', user: 'u' } } }));
      expectTypedError(
        thrown(() => resolveRemoteHost(name, file)),
        InputError,
        `unknown host "${name}"`,
      );
    },
  );

  // Found by this suite: the YAML parser keeps a `__proto__` key as an own property, and zod's record
  // drops it silently, so an invalid alias vanishes instead of being refused like "a b" is. The same
  // happens to `__proto__` under a profile's inputs.defaults (see declarations.property.test.ts).
  it('an alias "__proto__" is refused like any invalid alias', async () => {
    const path = writeHosts({
      hosts: { ['__proto__']: { address: 'h', user: 'u' }, a: { address: 'h', user: 'u' } },
    });
    await expect(loadHostsFile(path, join(path, '..'))).rejects.toThrow(
      'hosts.yaml: hosts.__proto__: "__proto__" is not allowed as a name',
    );
  });

  it('default: constructor is refused as not one of the hosts', async () => {
    const path = writeHosts({ default: 'constructor', hosts: { a: { address: 'h', user: 'u' } } });
    await expect(loadHostsFile(path, join(path, '..'))).rejects.toThrow(
      'hosts.yaml: default: "constructor" is not one of the hosts or pools (a)',
    );
  });
});
