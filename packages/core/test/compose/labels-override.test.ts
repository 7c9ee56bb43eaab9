import { describe, expect, test } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { InputError } from '../../src/errors.js';
import { modelOf } from '../../src/extensions/builtin/compose-ssh/model.js';
import { labelsOverride } from '../../src/extensions/builtin/compose-ssh/stack.js';

/** What provision passes: values that YAML 1.1 would read as a boolean and a timestamp if unquoted. */
const labels = {
  'dev.sandboxer.managed': 'true',
  'dev.sandboxer.sandbox-id': 'abc123',
  'dev.sandboxer.created-at': '2026-01-01T00:00:00Z',
  'dev.sandboxer.expires-at': '2026-01-01T01:00:00.000Z',
};

/** `docker-compose config` (v1): keeps `version`, volumes as `{}`, external in the old form. */
const V1_CONFIG = `services:
  db:
    image: postgres:16
    volumes:
    - data:/var/lib/postgresql/data:rw
  web:
    depends_on:
    - db
    image: nginx:1.27
    ports:
    - 8080:80/tcp
version: '3.8'
volumes:
  data: {}
  shared:
    external: true
    name: shared
`;

/** `docker compose config` (v2): `name:` and no `version`, every network and volume named. */
const V2_CONFIG = `name: sbx-abc123
services:
  db:
    image: postgres:16
    networks:
      default: null
    volumes:
      - type: volume
        source: data
        target: /var/lib/postgresql/data
        volume: {}
  web:
    image: nginx:1.27
    networks:
      default: null
    ports:
      - mode: ingress
        target: 80
        published: "8080"
        protocol: tcp
networks:
  default:
    name: sbx-abc123_default
volumes:
  cache:
  data:
    name: sbx-abc123_data
  shared:
    name: shared
    external: true
`;

interface Override {
  version?: unknown;
  services: Record<string, { labels: Record<string, unknown> }>;
  volumes?: Record<string, { labels: Record<string, unknown> }>;
  networks?: Record<string, { labels: Record<string, unknown> }>;
}

/** Reads the override as Compose v1 does (PyYAML, YAML 1.1). */
const asYaml11 = (text: string) => parseYaml(text, { version: '1.1' }) as Override;

describe('labelsOverride', () => {
  test('v1 config: exact text, version kept, labels every service, the named volume and the default network', () => {
    const { services, override } = labelsOverride(modelOf(V1_CONFIG), labels, []);
    expect(services).toEqual(['db', 'web']);
    // Keys double-quoted too, and the labels written out each time (no YAML anchors or aliases).
    const block = `    "labels":
      "dev.sandboxer.managed": "true"
      "dev.sandboxer.sandbox-id": "abc123"
      "dev.sandboxer.created-at": "2026-01-01T00:00:00Z"
      "dev.sandboxer.expires-at": "2026-01-01T01:00:00.000Z"
`;
    expect(override).toBe(
      `"version": "3.8"\n"services":\n  "db":\n${block}  "web":\n${block}"volumes":\n  "data":\n${block}"networks":\n  "default":\n${block}`,
    );
  });

  test.each([
    ['v1', V1_CONFIG, 4],
    ['v2', V2_CONFIG, 5],
  ])(
    '%s config: no anchors or aliases, one labels block per labelled object (%i)',
    (_name, config, blocks) => {
      const { override } = labelsOverride(modelOf(config), labels, []);
      expect(override).not.toMatch(/[&*]a\d/);
      expect(override.match(/^ {4}"labels":\n/gm)).toHaveLength(blocks);
      expect(override.match(/"dev\.sandboxer\.managed": "true"/g)).toHaveLength(blocks);
    },
  );

  test.each<[string, string, Override]>([
    [
      'v1',
      V1_CONFIG,
      {
        version: '3.8',
        services: { db: { labels }, web: { labels } },
        volumes: { data: { labels } },
        networks: { default: { labels } },
      },
    ],
    [
      'v2 (no version; a volume declared empty is labelled too)',
      V2_CONFIG,
      {
        services: { db: { labels }, web: { labels } },
        volumes: { cache: { labels }, data: { labels } },
        networks: { default: { labels } },
      },
    ],
    [
      'no volumes, default network external (v2 form)',
      'services:\n  web:\n    image: nginx\nnetworks:\n  default:\n    name: proxy\n    external: true\n',
      { services: { web: { labels } } },
    ],
    [
      'default network external (v1 form with a name)',
      "version: '2.4'\nservices:\n  web:\n    image: nginx\nnetworks:\n  default:\n    external:\n      name: proxy\n",
      { version: '2.4', services: { web: { labels } } },
    ],
    [
      'only external volumes, other networks untouched',
      'services:\n  web:\n    image: nginx\nvolumes:\n  ext:\n    external: true\nnetworks:\n  backend: {}\n',
      { services: { web: { labels } }, networks: { default: { labels } } },
    ],
    [
      'a numeric version is written as a string',
      'version: 3\nservices:\n  web:\n    image: nginx\n',
      { version: '3', services: { web: { labels } }, networks: { default: { labels } } },
    ],
  ])('%s, read back as YAML 1.1: every label value is still a string', (_name, config, expected) => {
    const { override } = labelsOverride(modelOf(config), labels, []);
    expect(asYaml11(override)).toEqual(expected);
    expect(parseYaml(override)).toEqual(expected);
  });

  test.each(Object.values(labels))('the value %s is double-quoted', (value) => {
    expect(labelsOverride(modelOf(V2_CONFIG), labels, []).override).toContain(`"${value}"`);
  });

  test('control: unquoted, YAML 1.1 would not read these as strings', () => {
    const parsed = parseYaml('a: true\nb: 2026-01-01T00:00:00Z\nc: 0750\n', { version: '1.1' }) as Record<
      string,
      unknown
    >;
    expect(typeof parsed.a).toBe('boolean');
    expect(parsed.b).toBeInstanceOf(Date);
    expect(parsed.c).toBe(0o750);
  });

  test('values that need escaping survive', () => {
    const tricky = {
      'dev.sandboxer.note': 'a "quoted" \\ value: yes\nnext # not a comment',
      x: '0750',
      z: 'null',
    };
    const { override } = labelsOverride(modelOf(V1_CONFIG), tricky, []);
    expect(asYaml11(override).services.web?.labels).toEqual(tricky);
  });

  test.each<[string[], string[]]>([
    [[], ['db', 'web']],
    [['web'], ['web']],
    [
      ['web', 'db'],
      ['web', 'db'],
    ],
  ])('selected %j → waits for %j; labels every service either way', (selected, waitFor) => {
    const { services, override } = labelsOverride(modelOf(V2_CONFIG), labels, selected);
    expect(services).toEqual(waitFor);
    expect(Object.keys(asYaml11(override).services)).toEqual(['db', 'web']);
  });

  test.each([
    [['nope'], 'nope'],
    [['web', 'nope', 'other'], 'nope, other'],
    [['Web'], 'Web'],
  ])('unknown selected services %j → InputError naming them and the known ones', (selected, named) => {
    expect(() => labelsOverride(modelOf(V2_CONFIG), labels, selected)).toThrow(InputError);
    expect(() => labelsOverride(modelOf(V2_CONFIG), labels, selected)).toThrow(
      `input "services": ${named} not in the compose files (services: db, web)`,
    );
  });

  test('a config without services knows none', () => {
    expect(() => labelsOverride(modelOf(''), labels, ['web'])).toThrow(
      'input "services": web not in the compose files (services: )',
    );
  });

  // Keys are double-quoted, so a service named like a YAML 1.1 boolean stays a name for Compose v1.
  test.each(['on', 'yes', 'off', 'y', 'n', 'true', 'null', '0750'])(
    'a service named %j keeps its name under YAML 1.1',
    (name) => {
      const { services, override } = labelsOverride(
        modelOf(`services:\n  "${name}":\n    image: nginx\n`),
        labels,
        [],
      );
      expect(services).toEqual([name]);
      expect(override).toContain(`\n  "${name}":\n`);
      expect(Object.keys(asYaml11(override).services)).toEqual([name]);
    },
  );
});

describe('labelsOverride for podman-compose 1.0.3 (it merges only values of the same type)', () => {
  const labels = { 'dev.sandboxer.sandbox-id': 'abcdefghijkl' };
  const config = modelOf(`
services:
  web:
    image: x
    labels: ["a=b"]
  db:
    image: y
    labels: { c: d }
volumes:
  data:
  named: { driver: local }
networks:
  back: {}
`);

  test('list labels stay a list, a map stays a map; an empty volume and the unused default network are left out', () => {
    const { override } = labelsOverride(config, labels, [], { podmanCompose: true });
    const parsed = parseYaml(override);
    expect(parsed.services.web.labels).toEqual(['dev.sandboxer.sandbox-id=abcdefghijkl']);
    expect(parsed.services.db.labels).toEqual(labels);
    expect(Object.keys(parsed.volumes)).toEqual(['named']);
    expect(parsed.networks).toBeUndefined();
  });

  test('Docker Compose gets every volume and the default network, as before', () => {
    const parsed = parseYaml(labelsOverride(config, labels, []).override);
    expect(Object.keys(parsed.volumes)).toEqual(['data', 'named']);
    expect(parsed.networks).toEqual({ default: { labels } });
  });
});
