import { mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { localComposeModel, modelOf } from '../../src/extensions/builtin/compose-ssh/model.js';

const fixtures = join(import.meta.dirname, '../../../../tests/fixtures');

function repoWith(files: Record<string, string>): string {
  const repo = mkdtempSync(join(tmpdir(), 'compose-model-'));
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(repo, name, '..'), { recursive: true });
    writeFileSync(join(repo, name), text);
  }
  return repo;
}

describe('localComposeModel', () => {
  test('the e2e fixtures are read locally, with the names `compose config` would give', () => {
    for (const fixture of ['compose-http', 'compose-stateful']) {
      const model = localComposeModel(join(fixtures, fixture), ['docker-compose.yml']);
      const direct = modelOf(readFileSync(join(fixtures, fixture, 'docker-compose.yml'), 'utf8'));
      expect(model).toBeDefined();
      expect(Object.keys(model?.services ?? {})).toEqual(Object.keys(direct.services));
      expect(Object.keys(model?.volumes ?? {})).toEqual(Object.keys(direct.volumes));
      expect(model?.version).toBe('3.8');
    }
  });

  test('several files merge their names; the first version wins; anchors and merge keys work', () => {
    const repo = repoWith({
      'docker-compose.yml':
        'version: "3.8"\nx-base: &base\n  image: busybox\nservices:\n  web:\n    <<: *base\nvolumes:\n  data:\n',
      'ci/extra.yml':
        'services:\n  db:\n    image: busybox\nvolumes:\n  shared:\n    external: true\nnetworks:\n  default:\n    external: { name: x }\n',
    });
    const model = localComposeModel(repo, ['docker-compose.yml', 'ci/extra.yml']);
    expect(Object.keys(model?.services ?? {})).toEqual(['web', 'db']);
    expect(model?.volumes).toEqual({ data: null, shared: { external: true } });
    expect(model?.networks.default?.external).toBeTruthy();
    expect(model?.version).toBe('3.8');
  });

  // Each of these needs the host's `compose config`: names come from elsewhere or services drop out.
  test.each([
    ['include', 'include:\n  - other.yml\nservices:\n  web:\n    image: busybox\n'],
    [
      'extends from another file',
      'services:\n  web:\n    extends:\n      file: base.yml\n      service: web\n',
    ],
    ['profiles', 'services:\n  web:\n    image: busybox\n    profiles: [debug]\n'],
    // biome-ignore lint/suspicious/noTemplateCurlyInString: Compose interpolation, not a JS template
    ['an interpolated version', 'version: "${V}"\nservices:\n  web:\n    image: busybox\n'],
    ['not YAML', 'services: [unclosed\n'],
    ['a list at the top', '- web\n'],
    ['services as a list', 'services:\n  - web\n'],
    ['an empty service', 'services:\n  web:\n'],
  ])('%s: left to the host', (_what, text) => {
    expect(
      localComposeModel(repoWith({ 'docker-compose.yml': text }), ['docker-compose.yml']),
    ).toBeUndefined();
  });

  // Compose merges such entries key by key (a later `data:` keeps an earlier `external: true`), and
  // reads `external: ${VAR}` after interpolation: the host's `compose config` decides.
  test.each([
    ['a volume in two files', 'volumes:\n  data:\n    external: true\n', 'volumes:\n  data:\n'],
    ['a network in two files', 'networks:\n  default:\n    external: true\n', 'networks:\n  default: {}\n'],
    // biome-ignore lint/suspicious/noTemplateCurlyInString: Compose interpolation, not a JS template
    ['an interpolated external', 'volumes:\n  data:\n    external: ${EXT}\n', ''],
  ])('%s: left to the host', (_what, first, second) => {
    const repo = repoWith({
      'a.yml': `services:\n  web:\n    image: busybox\n${first}`,
      'b.yml': `services:\n  db:\n    image: busybox\n${second}`,
    });
    expect(localComposeModel(repo, ['a.yml', 'b.yml'])).toBeUndefined();
  });

  test('extends within the same file is fine', () => {
    const repo = repoWith({
      'docker-compose.yml':
        'services:\n  base:\n    image: busybox\n  web:\n    extends:\n      service: base\n',
    });
    expect(Object.keys(localComposeModel(repo, ['docker-compose.yml'])?.services ?? {})).toEqual([
      'base',
      'web',
    ]);
  });

  test('a missing file, a directory or a symlink is left to the host', () => {
    const repo = repoWith({ 'real.yml': 'services:\n  web:\n    image: busybox\n', 'dir/x': '' });
    symlinkSync(join(repo, 'real.yml'), join(repo, 'link.yml'));
    expect(localComposeModel(repo, ['real.yml'])).toBeDefined();
    expect(localComposeModel(repo, ['missing.yml'])).toBeUndefined();
    expect(localComposeModel(repo, ['dir'])).toBeUndefined();
    expect(localComposeModel(repo, ['link.yml'])).toBeUndefined();
  });
});
