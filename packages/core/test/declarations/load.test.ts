import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { builtinDeclarations } from '../../src/catalog/builtin-declarations.generated.js';
import { loadCatalog } from '../../src/catalog/catalog.js';
import { ConfigError, NotFoundError } from '../../src/errors.js';
import { source, tempDir } from '../support/fixtures.js';

const EXT_OK = `id: ext.mine
title: Mine
handler: builtin:saas-stub
capabilities:
  isolation_levels: [directory]
  pricing_model: metered
`;

/** Loads the built-ins plus one extra file and returns the error message it fails with. */
async function failureOf(kind: 'extension' | 'profile', path: string, text: string): Promise<string> {
  try {
    await loadCatalog({ builtins: [...builtinDeclarations, source(kind, path, text)], userDirs: [] });
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error('expected the load to fail');
}

describe('built-in declarations', () => {
  test('all load and validate, with the five product profiles', async () => {
    const catalog = await loadCatalog({ userDirs: [] });
    expect(catalog.profiles().map((p) => p.id)).toEqual([
      'profile.burst-sandbox',
      'profile.compose-checkpoint',
      'profile.compose-e2e',
      'profile.saas-stub',
      'profile.vm-haskell-build',
    ]);
    expect(catalog.extensions().map((e) => e.id)).toEqual([
      'ext.compose-ssh',
      'ext.saas-stub',
      'ext.vm-packer',
    ]);
    expect(catalog.profile('saas-stub').ttl).toBe(1800);
    expect(catalog.profile('profile.saas-stub').extension).toBe('ext.saas-stub');
  });

  test('an unknown profile lists the known ones', async () => {
    const catalog = await loadCatalog({ userDirs: [] });
    expect(() => catalog.profile('nope')).toThrow(NotFoundError);
    expect(() => catalog.profile('nope')).toThrow(
      /^unknown profile "nope" \(known: profile\.burst-sandbox, /,
    );
  });
});

describe('loader error paths name the file, the field and what was expected', () => {
  test.each([
    [
      'YAML syntax error, with line and column',
      'profile',
      'profiles/profile.bad.yaml',
      'description: x\nextension: [ext.saas-stub\n',
      /^profiles\/profile\.bad\.yaml:3:1: YAML syntax error: /,
    ],
    [
      'unknown extension',
      'profile',
      'profiles/profile.x.yaml',
      'description: x\nextension: ext.nope\n',
      'profiles/profile.x.yaml: extension: unknown extension "ext.nope" (known: ext.compose-ssh, ext.saas-stub, ext.vm-packer)',
    ],
    [
      'unknown handler',
      'extension',
      'extensions/ext.mine.yaml',
      EXT_OK.replace('builtin:saas-stub', 'builtin:nope'),
      'extensions/ext.mine.yaml: handler: unknown handler "builtin:nope" (built-in handlers: builtin:compose-ssh, builtin:saas-stub, builtin:vm-packer; or use "<module>:<ExportName>")',
    ],
    [
      'missing field',
      'profile',
      'profiles/profile.x.yaml',
      'extension: ext.saas-stub\n',
      'profiles/profile.x.yaml: description: Invalid input: expected string, received undefined',
    ],
    [
      'bad enum value',
      'extension',
      'extensions/ext.mine.yaml',
      EXT_OK.replace('pricing_model: metered', 'pricing_model: free'),
      'extensions/ext.mine.yaml: capabilities.pricing_model: Invalid option: expected one of "metered"|"self-hosted"',
    ],
    [
      'unknown key',
      'profile',
      'profiles/profile.x.yaml',
      'description: x\nextension: ext.saas-stub\nttll: 5m\n',
      'profiles/profile.x.yaml: (top level): Unrecognized key: "ttll"',
    ],
    [
      'wrong type in a nested list',
      'profile',
      'profiles/profile.x.yaml',
      'description: x\nextension: ext.saas-stub\ninputs:\n  required: [repo, 7]\n',
      'profiles/profile.x.yaml: inputs.required[1]: Invalid input: expected string, received number',
    ],
    [
      'bad duration',
      'profile',
      'profiles/profile.x.yaml',
      'description: x\nextension: ext.saas-stub\nttl: soon\n',
      'profiles/profile.x.yaml: ttl: expected a duration like "90s", "30m", "1h30m", "1.5h" or "1d", got "soon"',
    ],
    [
      'ttl longer than max_ttl',
      'profile',
      'profiles/profile.x.yaml',
      'description: x\nextension: ext.saas-stub\nttl: 2h\nmax_ttl: 1h\n',
      'profiles/profile.x.yaml: ttl: must not be longer than max_ttl',
    ],
    [
      'id that does not match the file name',
      'extension',
      'extensions/ext.other.yaml',
      EXT_OK,
      'extensions/ext.other.yaml: id: "ext.mine" does not match the file name (expected the file to be named ext.mine.yaml)',
    ],
    [
      'a list instead of a mapping',
      'profile',
      'profiles/profile.x.yaml',
      '- a\n- b\n',
      'profiles/profile.x.yaml: expected a mapping of fields (key: value), got a list',
    ],
    [
      'an empty file',
      'profile',
      'profiles/profile.x.yaml',
      '',
      'profiles/profile.x.yaml: expected a mapping of fields (key: value), got an empty file',
    ],
    [
      'a repeated key',
      'profile',
      'profiles/profile.x.yaml',
      'description: x\ndescription: y\nextension: ext.saas-stub\n',
      /^profiles\/profile\.x\.yaml:2:1: YAML syntax error: Map keys must be unique/,
    ],
    [
      'a routing candidate with an unknown extension',
      'profile',
      'profiles/profile.x.yaml',
      'description: x\nextension: ext.saas-stub\nrouting:\n  candidates:\n    - extension: ext.gone\n',
      'profiles/profile.x.yaml: routing.candidates[0].extension: unknown extension "ext.gone" (known: ext.compose-ssh, ext.saas-stub, ext.vm-packer)',
    ],
    [
      'a file name that is not profile.<slug>.yaml',
      'profile',
      'profiles/My Profile.yaml',
      'description: x\nextension: ext.saas-stub\n',
      'profiles/My Profile.yaml: a profile file must be named profile.<slug>.yaml with a slug of lower-case letters, digits and dashes',
    ],
  ] as const)('%s', async (_name, kind, path, text, expected) => {
    const message = await failureOf(kind, path, text);
    if (typeof expected === 'string') expect(message).toBe(expected);
    else expect(message).toMatch(expected);
  });

  test('a huge file is refused before it is parsed', async () => {
    const huge = `description: x\nextension: ext.saas-stub\n# ${'x'.repeat(300 * 1024)}\n`;
    expect(await failureOf('profile', 'profiles/profile.huge.yaml', huge)).toBe(
      'profiles/profile.huge.yaml: larger than the 262144-byte limit for a declaration',
    );
  });

  test('an alias bomb is refused, not expanded', async () => {
    const bomb = ['a: &a [x, x, x, x, x, x, x, x, x, x]'];
    for (let i = 0; i < 8; i++)
      bomb.push(
        `${'b'.repeat(i + 1)}: &${'b'.repeat(i + 1)} [${Array(10)
          .fill(i === 0 ? '*a' : `*${'b'.repeat(i)}`)
          .join(', ')}]`,
      );
    const message = await failureOf('profile', 'profiles/profile.bomb.yaml', `${bomb.join('\n')}\n`);
    expect(message).toMatch(/^profiles\/profile\.bomb\.yaml/);
  });
});

/**
 * The same four ways a file goes wrong (YAML syntax, a wrong type, an unknown key, a huge file) for
 * each declaration kind; the hosts file has its own table in test/hosts/resolve.test.ts. Every
 * message starts with the file and, past the YAML stage, names the field.
 */
describe('malformed declarations of either kind name the file and the field', () => {
  const PROFILE_OK = 'description: x\nextension: ext.saas-stub\n';
  test.each([
    [
      'extension: YAML syntax error, with line and column',
      'extension',
      'extensions/ext.mine.yaml',
      'id: ext.mine\ntitle: [Mine\n',
      /^extensions\/ext\.mine\.yaml:3:1: YAML syntax error: Flow sequence/,
    ],
    [
      'extension: a tab as indentation',
      'extension',
      'extensions/ext.mine.yaml',
      'id: ext.mine\n\ttitle: x\n',
      'extensions/ext.mine.yaml:2:1: YAML syntax error: Tabs are not allowed as indentation',
    ],
    [
      'extension: a repeated nested key',
      'extension',
      'extensions/ext.mine.yaml',
      `${EXT_OK}  snapshot: false\n  snapshot: true\n`,
      'extensions/ext.mine.yaml:8:3: YAML syntax error: Map keys must be unique',
    ],
    [
      'extension: a string where a boolean belongs',
      'extension',
      'extensions/ext.mine.yaml',
      `${EXT_OK}  snapshot: "yes"\n`,
      'extensions/ext.mine.yaml: capabilities.snapshot: Invalid input: expected boolean, received string',
    ],
    [
      'extension: a scalar where a list belongs',
      'extension',
      'extensions/ext.mine.yaml',
      EXT_OK.replace('[directory]', 'directory'),
      'extensions/ext.mine.yaml: capabilities.isolation_levels: Invalid input: expected array, received string',
    ],
    [
      'extension: a number where a string belongs',
      'extension',
      'extensions/ext.mine.yaml',
      EXT_OK.replace('title: Mine', 'title: 42'),
      'extensions/ext.mine.yaml: title: Invalid input: expected string, received number',
    ],
    [
      'extension: a list where the config mapping belongs',
      'extension',
      'extensions/ext.mine.yaml',
      `${EXT_OK}config: [a, b]\n`,
      'extensions/ext.mine.yaml: config: Invalid input: expected record, received array',
    ],
    [
      'extension: an unknown top-level key',
      'extension',
      'extensions/ext.mine.yaml',
      `${EXT_OK}hanlder: x\n`,
      'extensions/ext.mine.yaml: (top level): Unrecognized key: "hanlder"',
    ],
    [
      'extension: an unknown nested key',
      'extension',
      'extensions/ext.mine.yaml',
      `${EXT_OK}  gpu: true\n`,
      'extensions/ext.mine.yaml: capabilities: Unrecognized key: "gpu"',
    ],
    [
      'extension: a huge file',
      'extension',
      'extensions/ext.mine.yaml',
      `${EXT_OK}# ${'x'.repeat(300 * 1024)}\n`,
      'extensions/ext.mine.yaml: larger than the 262144-byte limit for a declaration',
    ],
    [
      'profile: an unclosed quote',
      'profile',
      'profiles/profile.x.yaml',
      'description: "x\nextension: ext.saas-stub\n',
      'profiles/profile.x.yaml:3:1: YAML syntax error: Missing closing "quote',
    ],
    [
      'profile: a number where a string belongs',
      'profile',
      'profiles/profile.x.yaml',
      'description: 42\nextension: ext.saas-stub\n',
      'profiles/profile.x.yaml: description: Invalid input: expected string, received number',
    ],
    [
      'profile: a string where a number belongs, deep in a list',
      'profile',
      'profiles/profile.x.yaml',
      `${PROFILE_OK}routing:\n  candidates:\n    - extension: ext.saas-stub\n      max_live: many\n`,
      'profiles/profile.x.yaml: routing.candidates[0].max_live: Invalid input: expected number, received string',
    ],
    [
      // The union of string|number|boolean says only "Invalid input"; the field is still named.
      'profile: a list where an input default belongs',
      'profile',
      'profiles/profile.x.yaml',
      `${PROFILE_OK}inputs:\n  defaults:\n    repo: [a]\n`,
      /^profiles\/profile\.x\.yaml: inputs\.defaults\.repo: /,
    ],
    [
      'profile: an unknown nested key',
      'profile',
      'profiles/profile.x.yaml',
      `${PROFILE_OK}inputs:\n  defautls: {}\n`,
      'profiles/profile.x.yaml: inputs: Unrecognized key: "defautls"',
    ],
    [
      'profile: an unknown key in a list item',
      'profile',
      'profiles/profile.x.yaml',
      `${PROFILE_OK}routing:\n  candidates:\n    - extension: ext.saas-stub\n      hots: a\n`,
      'profiles/profile.x.yaml: routing.candidates[0]: Unrecognized key: "hots"',
    ],
    [
      'profile: a bad enum value in a list',
      'profile',
      'profiles/profile.x.yaml',
      `${PROFILE_OK}snapshot:\n  capture: [disk]\n`,
      'profiles/profile.x.yaml: snapshot.capture[0]: Invalid option: expected one of "workspace"|"volumes"',
    ],
  ] as const)('%s', async (_name, kind, path, text, expected) => {
    const message = await failureOf(kind, path, text);
    if (typeof expected === 'string') expect(message).toBe(expected);
    else expect(message).toMatch(expected);
  });

  test.each([
    ['extensions', 'ext.big.yaml', `${EXT_OK.replace('ext.mine', 'ext.big')}`],
    ['profiles', 'profile.big.yaml', PROFILE_OK],
  ])('a huge %s file on disk is refused by its size, before it is read', async (kindDir, name, text) => {
    const dir = tempDir();
    mkdirSync(join(dir, kindDir));
    writeFileSync(join(dir, kindDir, name), `${text}# ${'x'.repeat(300 * 1024)}\n`);
    await expect(loadCatalog({ userDirs: [dir], cwd: dir })).rejects.toThrow(
      new RegExp(
        `^${kindDir}/${name.replaceAll('.', '\\.')}: file is \\d+ bytes, larger than the 262144-byte limit`,
      ),
    );
  });
});

describe('user declarations', () => {
  test('override built-ins by id and add new ones; errors name the user file', async () => {
    const dir = tempDir();
    mkdirSync(join(dir, 'profiles'));
    writeFileSync(
      join(dir, 'profiles', 'profile.saas-stub.yaml'),
      'description: my override\nextension: ext.saas-stub\nttl: 5m\n',
    );
    writeFileSync(
      join(dir, 'profiles', 'profile.extra.yaml'),
      'description: extra\nextension: ext.saas-stub\n',
    );
    writeFileSync(join(dir, 'profiles', 'notes.txt'), 'not a declaration');
    const catalog = await loadCatalog({ userDirs: [dir], cwd: dir });
    expect(catalog.profile('saas-stub').description).toBe('my override');
    expect(catalog.profile('saas-stub').ttl).toBe(300);
    expect(catalog.profile('extra').ttl).toBe(3600);
    expect(catalog.sourceOf('profile.saas-stub')).toBe('profiles/profile.saas-stub.yaml');
    expect(catalog.sourceOf('profile.compose-e2e')).toBe('profiles/profile.compose-e2e.yaml');

    writeFileSync(join(dir, 'profiles', 'profile.extra.yaml'), 'description: extra\nextension: ext.zzz\n');
    await expect(loadCatalog({ userDirs: [dir], cwd: dir })).rejects.toThrow(
      'profiles/profile.extra.yaml: extension: unknown extension "ext.zzz"',
    );
  });

  test('a third-party module:Export handler is imported; a missing export is a clear error', async () => {
    const dir = tempDir();
    mkdirSync(join(dir, 'extensions'));
    writeFileSync(
      join(dir, 'extensions', 'handler.mjs'),
      `export class Mine {
  constructor(context) { this.id = context.declaration.id; }
  validateInputs(inputs) { return inputs; }
  async provision(r) { return { sandbox_id: r.sandboxId, host: 'local' }; }
  async waitReady() { return { host: 'local' }; }
  async teardown() { return { removed: [], leftovers: [], already_gone: true }; }
}
export const notAFunction = 1;
`,
    );
    const write = (handler: string, pricing = 'self-hosted') =>
      writeFileSync(
        join(dir, 'extensions', 'ext.mine.yaml'),
        EXT_OK.replace('builtin:saas-stub', handler).replace('metered', pricing),
      );
    write('./handler.mjs:Mine');
    const catalog = await loadCatalog({ userDirs: [dir], cwd: dir });
    expect((await catalog.instantiate('ext.mine', { home: dir })).id).toBe('ext.mine');

    write('./handler.mjs:Nope');
    const missing = await loadCatalog({ userDirs: [dir], cwd: dir });
    await expect(missing.instantiate('ext.mine', { home: dir })).rejects.toThrow(
      'extensions/ext.mine.yaml: handler: module "./handler.mjs" has no export "Nope" (it exports: Mine, notAFunction)',
    );

    write('./handler.mjs:Mine', 'metered');
    const metered = await loadCatalog({ userDirs: [dir], cwd: dir });
    await expect(metered.instantiate('ext.mine', { home: dir })).rejects.toThrow(
      'extensions/ext.mine.yaml: capabilities.pricing_model: "metered" requires the handler to implement estimateCost and meterActual',
    );

    write('./absent.mjs:Mine');
    const absent = await loadCatalog({ userDirs: [dir], cwd: dir });
    await expect(absent.instantiate('ext.mine', { home: dir })).rejects.toThrow(
      /^extensions\/ext\.mine\.yaml: handler: cannot load module "\.\/absent\.mjs": /,
    );
  });
});
