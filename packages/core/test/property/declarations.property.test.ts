import { writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it, test } from 'vitest';
import { stringify } from 'yaml';
import { builtinDeclarations } from '../../src/catalog/builtin-declarations.generated.js';
import { loadCatalog } from '../../src/catalog/catalog.js';
import { loadExtension } from '../../src/declarations/parse-extension.js';
import { loadProfile, normalizeProfileId } from '../../src/declarations/parse-profile.js';
import { profileDeclarationSchema } from '../../src/declarations/profile-schema.js';
import { ConfigError, InputError, NotFoundError } from '../../src/errors.js';
import { loadHostsFile } from '../../src/hosts/resolve.js';
import { source } from '../support/fixtures.js';
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
 * Declaration files (profiles, extensions, the hosts file) under random damage, and the ids that
 * come from their names: the loader either gives a valid declaration or a ConfigError that names
 * the file, never a TypeError or a half-read result.
 */

const VALID_PROFILE = `# a profile with every field
description: A compose stack for tests
extension: ext.compose-ssh
ttl: 30m
max_ttl: 2h
inputs:
  required: [repo, compose_files]
  defaults:
    services: "web,db"
    stop_timeout: 10
    debug: true
routing:
  candidates:
    - extension: ext.saas-stub
      max_live: 4
      max_cost: 50
    - extension: ext.compose-ssh
      host: docker-1
      isolation: container
snapshot:
  capture: [workspace, volumes]
  consistency: pause
`;

const VALID_EXTENSION = `id: ext.mut
title: Mutated
description: An extension declaration under random damage
handler: builtin:compose-ssh
capabilities:
  isolation_levels: [container, vm]
  pricing_model: self-hosted
  snapshot: true
config:
  compose_command: docker compose
  base_dir: ~/sandboxer
`;

const VALID_HOSTS = `default: docker-1
hosts:
  docker-1:
    address: 10.0.0.5
    port: 2222
    user: deploy
    identity_file: keys/id_ed25519
    base_dir: /srv/sandboxer
    capacity: 4
    labels: [docker, big]
  vm:
    address: vm.example.com
    user: ci
    insecure_ignore_host_key: true
`;

/** A YAML-ish fragment: a scalar, flow collection, indentation or syntax that damages a document. */
const fragment = fc.oneof(
  fc.constantFrom(
    ':',
    ': ',
    '- ',
    '  ',
    '\n',
    '\t',
    '[',
    ']',
    '{',
    '}',
    '&a ',
    '*a',
    '!!str ',
    '!!binary ',
    '? ',
    '|',
    '>',
    '#',
    '"',
    "'",
    '%YAML 1.2\n---\n',
    '---\n',
    '...\n',
    'null',
    '~',
    '0x1F',
    '1e400',
    '-1',
    'true',
    '[]',
    '{}',
    '__proto__: {}',
    'constructor: x',
    'ttl: 1d',
    'extension: ext.nope',
    '<<: *a',
  ),
  fc.constantFrom(...HOSTILE_PIECES),
  hostileString(8),
);

type Mutation = (text: string) => string;

/** One random edit of the text: delete, insert, duplicate or swap lines, re-indent, truncate. */
const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.tuple(fc.nat(), fc.nat(40)).map(
    ([at, n]): Mutation =>
      (t) => {
        const i = at % (t.length + 1);
        return t.slice(0, i) + t.slice(i + n);
      },
  ),
  fc.tuple(fc.nat(), fragment).map(
    ([at, f]): Mutation =>
      (t) => {
        const i = at % (t.length + 1);
        return t.slice(0, i) + f + t.slice(i);
      },
  ),
  fc.tuple(fc.nat(), fc.nat()).map(
    ([a, b]): Mutation =>
      (t) => {
        const lines = t.split('\n');
        const i = a % lines.length;
        const j = b % lines.length;
        [lines[i], lines[j]] = [lines[j] as string, lines[i] as string];
        return lines.join('\n');
      },
  ),
  fc.nat().map(
    (a): Mutation =>
      (t) => {
        const lines = t.split('\n');
        const i = a % lines.length;
        lines.splice(i, 0, lines[i] as string);
        return lines.join('\n');
      },
  ),
  fc.tuple(fc.nat(), fc.integer({ min: -4, max: 4 })).map(
    ([a, d]): Mutation =>
      (t) => {
        const lines = t.split('\n');
        const i = a % lines.length;
        const line = lines[i] as string;
        lines[i] = d >= 0 ? ' '.repeat(d) + line : line.replace(new RegExp(`^ {0,${-d}}`), '');
        return lines.join('\n');
      },
  ),
  fc.nat().map(
    (a): Mutation =>
      (t) =>
        t.slice(0, a % (t.length + 1)),
  ),
);

const mutated = (valid: string) =>
  fc.array(mutation, { minLength: 1, maxLength: 3 }).map((ms) => ms.reduce((t, m) => m(t), valid));

/** The built-in extensions, which the mutated profiles refer to. */
const extensionsOnly = builtinDeclarations.filter((d) => d.kind === 'extension');

describe('randomly damaged declarations', () => {
  test('a profile is either valid or a ConfigError that names the file', async () => {
    await fc.assert(
      fc.asyncProperty(mutated(VALID_PROFILE), async (text) => {
        const path = 'profiles/profile.mut.yaml';
        let error: unknown;
        try {
          const catalog = await loadCatalog({
            builtins: [...extensionsOnly, source('profile', path, text)],
            userDirs: [],
          });
          const profile = catalog.profile('mut');
          // What was loaded is itself valid: nothing half-read or coerced past the schema.
          const { id, ...declaration } = profile;
          expect(id).toBe('profile.mut');
          expect(profileDeclarationSchema.safeParse(declaration).success).toBe(true);
        } catch (caught) {
          error = caught;
        }
        if (error !== undefined) {
          expectTypedError(error, ConfigError);
          expect((error as Error).message.startsWith(path)).toBe(true);
        }
      }),
      // Each run loads a whole catalog (a few milliseconds).
      fcOptions(150),
    );
  });

  test('an extension is either valid or a ConfigError that names the file', async () => {
    await fc.assert(
      fc.asyncProperty(mutated(VALID_EXTENSION), async (text) => {
        const path = 'extensions/ext.mut.yaml';
        const error = thrown(() => loadExtension(source('extension', path, text)));
        if (error !== undefined) {
          expectTypedError(error, ConfigError);
          expect((error as Error).message.startsWith(path)).toBe(true);
        }
      }),
      fcOptions(),
    );
  });

  test('a hosts file is either valid or a ConfigError that names the file', async () => {
    const dir = scratchDir('hostsfile');
    await fc.assert(
      fc.asyncProperty(mutated(VALID_HOSTS), async (text) => {
        const path = join(dir, 'hosts.yaml');
        writeFileSync(path, text);
        let error: unknown;
        try {
          const file = await loadHostsFile(path, dir);
          if (file.default !== undefined) expect(Object.hasOwn(file.hosts, file.default)).toBe(true);
        } catch (caught) {
          error = caught;
        }
        if (error !== undefined) {
          expectTypedError(error, ConfigError);
          expect((error as Error).message.startsWith('hosts.yaml')).toBe(true);
        }
      }),
      fcOptions(200),
    );
  });

  // Found by this suite: the YAML parser keeps a `__proto__` key, and zod's record drops it without a
  // word, so an input name that the schema would refuse ("expected an input name like …") vanishes.
  it('inputs.defaults.__proto__ is refused like any bad input name', () => {
    const text = 'description: x\nextension: ext.saas-stub\ninputs:\n  defaults:\n    __proto__: evil\n';
    expect(() => loadProfile(source('profile', 'profiles/profile.x.yaml', text))).toThrow(
      /^profiles\/profile\.x\.yaml: inputs\.defaults/,
    );
  });
});

describe('profile and extension ids', () => {
  const PROFILE_ID = /^profile\.[a-z0-9][a-z0-9-]*$/;
  const slugLike = fc.oneof(
    fc.stringMatching(/^[a-z0-9-]{0,10}$/),
    hostileString(10),
    fc.constantFrom('', '.', '..', 'x/../y', 'UPPER', 'a b', '-x', 'a.b', 'a_b'),
  );

  test('a profile file name gives the id profile.<slug>, or a ConfigError naming the file', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('profile.', 'profile', 'Profile.', 'ext.', ''),
        slugLike,
        fc.constantFrom('.yaml', '.yml', '.YAML', '.json', ''),
        (prefix, slug, ext) => {
          const path = `profiles/${prefix}${slug}${ext}`;
          let id: string | undefined;
          const error = thrown(() => {
            id = loadProfile(source('profile', path, 'description: x\nextension: ext.saas-stub\n')).profile
              .id;
          });
          if (error !== undefined) {
            expectTypedError(error, ConfigError);
            expect((error as Error).message.startsWith(`${path}:`)).toBe(true);
            return;
          }
          expect(id).toMatch(PROFILE_ID);
          expect([`${id}.yaml`, `${id}.yml`]).toContain(basename(path));
        },
      ),
      fcOptions(),
    );
  });

  test('a profile named on the command line is found by its id, or a NotFoundError naming it', async () => {
    const catalog = await loadCatalog({ userDirs: [] });
    const known = catalog.profiles().map((p) => p.id);
    fc.assert(
      fc.property(
        fc.oneof(
          slugLike,
          slugLike.map((s) => `profile.${s}`),
          fc.constantFrom('saas-stub', 'profile.compose-e2e'),
        ),
        (text) => {
          let id: string | undefined;
          const error = thrown(() => {
            id = catalog.profile(text).id;
          });
          if (known.includes(normalizeProfileId(text))) expect(id).toBe(normalizeProfileId(text));
          else {
            expectTypedError(error, NotFoundError, `unknown profile "${text}"`);
            expect((error as NotFoundError).details).toEqual({ field: 'profile', profile: text });
          }
        },
      ),
      fcOptions(),
    );
  });

  test('an extension id must match its file name and the id pattern; else a ConfigError naming the file', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          slugLike.map((s) => `ext.${s}`),
          hostileString(12),
        ),
        (id) => {
          const path = `extensions/${id.replaceAll('/', '_')}.yaml`;
          const text = stringify({
            id,
            title: 'x',
            handler: 'builtin:saas-stub',
            capabilities: { isolation_levels: ['directory'], pricing_model: 'metered' },
          });
          let loaded: ReturnType<typeof loadExtension> | undefined;
          const error = thrown(() => {
            loaded = loadExtension(source('extension', path, text));
          });
          if (error !== undefined) {
            expectTypedError(error, ConfigError);
            expect((error as Error).message.startsWith(`${path}:`)).toBe(true);
            expect((error as Error).message).toContain(': id: ');
            return;
          }
          expect(loaded?.declaration.id).toBe(id);
          expect(id).toMatch(/^ext\.[a-z0-9][a-z0-9-]*$/);
        },
      ),
      fcOptions(),
    );
  });
});

/**
 * Snapshot names are validated by a function the snapshot feature is adding (parseSnapshotName in
 * src/snapshots/ids.ts). Imported by a computed path, so this file still compiles and the tests skip
 * while that module is absent or differently shaped.
 * TODO(issue 8): import it statically once the snapshot feature has landed, and add its ids and
 * artifact paths (artifactPathOf) to the path-containment properties in quote.property.test.ts.
 */
const snapshotIdsModule = '../../src/snapshots/ids.js';
const snapshots = (await import(/* @vite-ignore */ snapshotIdsModule).catch(() => undefined)) as
  | { parseSnapshotName?: (text: string) => string; isSnapshotId?: (text: string) => boolean }
  | undefined;
const parseSnapshotName = snapshots?.parseSnapshotName;

describe.skipIf(typeof parseSnapshotName !== 'function')('snapshot names', () => {
  test('a name safe in a path and a shell word, or an InputError quoting it', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          hostileString(20),
          fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._-]{0,70}$/),
          fc.stringMatching(/^snap-[a-z0-9]{12}$/),
          fc.constantFrom('', '.', '..', '-x', 'a/b', 'before-migration'),
        ),
        (text) => {
          let name: string | undefined;
          const error = thrown(() => {
            name = (parseSnapshotName as (t: string) => string)(text);
          });
          if (error !== undefined) {
            expectTypedError(error, InputError, JSON.stringify(text));
            return;
          }
          expect(name).toBe(text);
          // Safe as a file name and as one shell word, with nothing an option parser would take.
          expect(name).toMatch(/^[A-Za-z0-9][A-Za-z0-9._-]*$/);
          expect(name).not.toMatch(/^\.\.?$/);
          expect((name as string).length).toBeLessThanOrEqual(64);
        },
      ),
      fcOptions(),
    );
  });
});
