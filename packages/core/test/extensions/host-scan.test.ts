import {
  chmodSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { switchDirOf } from '../../src/extensions/builtin/remote-workspace/expiry-switch.js';
import {
  findSandboxesCommand,
  parseFindings,
} from '../../src/extensions/builtin/remote-workspace/host-scan.js';
import { MARKER_FILE } from '../../src/extensions/builtin/remote-workspace/workspace.js';
import { tempDir } from '../support/fixtures.js';
import { sh } from './switch-support.js';

/**
 * What gc sees on a host: the scan command run for real in /bin/sh against a temporary base (with a
 * fake container engine in sh first in PATH), and the parser of its output by table.
 */

const LABELS = '{{.Label "dev.sandboxer.sandbox-id"}} {{.Label "dev.sandboxer.expires-at"}}';
/** Containers and networks are listed by ID; volumes have no `.ID` and are listed by name. */
const FORMAT = `{{.ID}} ${LABELS}`;
const VOLUME_FORMAT = `{{.Name}} ${LABELS}`;
const FILTER = ['--filter', 'label=dev.sandboxer.managed=true'];

/**
 * A fake engine: logs its argv and prints `<root>/<subcommand>` for `ps`, `network ls` and
 * `volume ls`. Like Docker (checked against 20.10), `volume ls` has no `.ID` to format: such a
 * template fails the call.
 */
const FAKE_ENGINE = `#!/bin/sh
root=<root>
{ for a in "$@"; do printf '%s\\037' "$a"; done; printf '\\036'; } >> "$root/engine.log"
if [ -e "$root/fail" ]; then echo "cannot connect to the engine" >&2; exit 1; fi
case "$1" in
  ps) cat "$root/ps" 2>/dev/null ;;
  network) cat "$root/network" 2>/dev/null ;;
  images) cat "$root/images" 2>/dev/null ;;
  volume)
    case "$*" in *'{{.ID}}'*)
      echo 'template parsing error: template: :1:2: executing "" at <.ID>: can'"'"'t evaluate field ID in type *formatter.volumeContext' >&2
      exit 1 ;;
    esac
    cat "$root/volume" 2>/dev/null ;;
esac
`;

const scratch: string[] = [];
afterAll(() => {
  for (const dir of scratch) rmSync(dir, { recursive: true, force: true });
});

interface Host {
  root: string;
  base: string;
  /** Runs the scan as the SSH session would, from `root`, with the fake engines first in PATH. */
  scan(engine: 'docker' | 'podman' | undefined): { stdout: string; stderr: string; status: number };
  engineCalls(): string[][];
}

function host(baseName = 'sandboxer'): Host {
  const root = tempDir('sbx-scan-');
  scratch.push(root);
  const base = join(root, baseName);
  mkdirSync(base);
  const bin = join(root, 'bin');
  mkdirSync(bin);
  for (const name of ['docker', 'podman']) {
    writeFileSync(join(bin, name), FAKE_ENGINE.replace('<root>', `'${root.replaceAll("'", `'\\''`)}'`));
    chmodSync(join(bin, name), 0o755);
  }
  const log = join(root, 'engine.log');
  return {
    root,
    base,
    scan: (engine) =>
      sh(
        `PATH=${bin}:"$PATH"; export PATH; cd ${quoteForTest(root)} && ${findSandboxesCommand(base, engine)}`,
      ),
    engineCalls: () =>
      existsSync(log)
        ? readFileSync(log, 'utf8')
            .split('\x1e')
            .filter(Boolean)
            .map((r) => r.split('\x1f').slice(0, -1))
        : [],
  };
}

/** Single-quotes a local path for the test's own wrapper (the code under test quotes its own). */
const quoteForTest = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;

function sandboxDir(base: string, name: string, marker?: string): void {
  mkdirSync(join(base, name));
  if (marker !== undefined) writeFileSync(join(base, name, MARKER_FILE), marker);
}

function switchFile(base: string, name: string, content: string): void {
  mkdirSync(switchDirOf(base), { recursive: true });
  writeFileSync(join(switchDirOf(base), name), content);
}

/** A host with every kind of thing the scan looks at, and some it must ignore. */
function populated(h: Host): void {
  const { base, root } = h;
  // Switch (01:00) beats marker (00:00) beats label (2029).
  sandboxDir(
    base,
    'sbx-aaaaaaaaaaaa',
    '{"sandbox_id":"aaaaaaaaaaaa","dev.sandboxer.expires-at":"2030-01-01T00:00:00.000Z"}\n',
  );
  switchFile(base, 'aaaaaaaaaaaa.expires', '1893459600\n');
  switchFile(base, 'aaaaaaaaaaaa.pid', '12345\n');
  switchFile(
    base,
    'reaped.log',
    '2020-01-01T00:00:00Z zzzzzzzzzzzz expired: torn down by the host-side switch\n',
  );
  // A pretty-printed marker with the snake_case field beats a label.
  sandboxDir(
    base,
    'sbx-bbbbbbbbbbbb',
    '{\n  "sandbox_id": "bbbbbbbbbbbb",\n  "expires_at": "2029-06-01T00:00:00.000Z"\n}\n',
  );
  sandboxDir(base, 'sbx-cccccccccccc');
  sandboxDir(base, 'sbx-dddddddddddd', '{"expires_at":"2030-');
  // Not sandboxes of ours: a bad id, a file, another directory.
  sandboxDir(base, 'sbx-Eeeeeeeeeeee', '{"expires_at":"2000-01-01T00:00:00.000Z"}');
  writeFileSync(join(base, 'sbx-ffffffffffff'), 'a file\n');
  sandboxDir(base, 'other');
  // A switch alone (its directory already gone), a junk one, an unreadable expiry.
  switchFile(base, 'gggggggggggg.expires', '1893456000\n');
  switchFile(base, 'junk.expires', '1\n');
  switchFile(base, 'hhhhhhhhhhhh.expires', 'soon\n');
  writeFileSync(
    join(root, 'ps'),
    [
      '0123456789abcdef0123 aaaaaaaaaaaa 2029-01-01T00:00:00.000Z',
      'deadbeefdead  ',
      'cafecafecafe NOTANID 2000-01-01T00:00:00.000Z',
      'fedcba987654 hhhhhhhhhhhh 2028-01-01T00:00:00.000Z',
      '',
    ].join('\n'),
  );
  writeFileSync(join(root, 'network'), '9f8e7d6c5b4a3f2e1d0c bbbbbbbbbbbb 2031-01-01T00:00:00.000Z\n');
}

const EXPECTED = (base: string) => [
  {
    sandbox_id: 'aaaaaaaaaaaa',
    resources: [`directory ${base}/sbx-aaaaaaaaaaaa`, 'expiry switch', 'container 0123456789ab'],
    expires_at: '2030-01-01T01:00:00.000Z',
  },
  {
    sandbox_id: 'bbbbbbbbbbbb',
    resources: [`directory ${base}/sbx-bbbbbbbbbbbb`, 'network 9f8e7d6c5b4a'],
    expires_at: '2029-06-01T00:00:00.000Z',
  },
  { sandbox_id: 'cccccccccccc', resources: [`directory ${base}/sbx-cccccccccccc`] },
  { sandbox_id: 'dddddddddddd', resources: [`directory ${base}/sbx-dddddddddddd`] },
  { sandbox_id: 'gggggggggggg', resources: ['expiry switch'], expires_at: '2030-01-01T00:00:00.000Z' },
  {
    sandbox_id: 'hhhhhhhhhhhh',
    resources: ['expiry switch', 'container fedcba987654'],
    expires_at: '2028-01-01T00:00:00.000Z',
  },
];

const byId = <T extends { sandbox_id: string }>(list: T[]) =>
  [...list].sort((a, b) => a.sandbox_id.localeCompare(b.sandbox_id));

function pwned(root: string): string[] {
  const found: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (entry.isDirectory()) walk(join(dir, entry.name));
      else if (entry.name === 'pwned') found.push(join(dir, entry.name));
    }
  };
  walk(root);
  return found;
}

describe('findSandboxesCommand, run in /bin/sh', () => {
  test.each([
    ['a plain base', 'sandboxer'],
    ['a base with quotes, $() and spaces', `it's $(touch pwned) \`touch pwned\` a  "b"`],
  ])('finds directories, switches and labelled containers and networks under %s', (_what, name) => {
    const h = host(name);
    populated(h);
    const result = h.scan('docker');
    expect(result.status).toBe(0);
    expect(byId(parseFindings(result.stdout, h.base))).toEqual(EXPECTED(h.base));
    const format = ['--format', FORMAT];
    expect(h.engineCalls()).toEqual([
      ['ps', '-a', ...FILTER, ...format],
      ['network', 'ls', ...FILTER, ...format],
      ['volume', 'ls', ...FILTER, '--format', VOLUME_FORMAT],
      ['images', '--format', '{{.Repository}}:{{.Tag}}'],
    ]);
    expect(pwned(h.root)).toEqual([]);
  });

  test('a lapsed lease is the expiry, before the switch file says so (a rebooted host: no sleeper)', () => {
    const h = host('sandboxer');
    mkdirSync(join(h.base, 'sbx-llllllllllll'));
    switchFile(h.base, 'llllllllllll.expires', '1893456000\n'); // 2030
    switchFile(h.base, 'llllllllllll.lease', '60\n');
    const renewed = new Date('2026-01-01T00:00:00Z');
    utimesSync(join(switchDirOf(h.base), 'llllllllllll.lease'), renewed, renewed);
    switchFile(h.base, 'mmmmmmmmmmmm.lease', 'garbage\n');
    const result = h.scan(undefined);
    expect(byId(parseFindings(result.stdout, h.base))).toEqual([
      {
        sandbox_id: 'llllllllllll',
        resources: [`directory ${h.base}/sbx-llllllllllll`, 'expiry switch'],
        expires_at: '2026-01-01T00:01:00.000Z',
      },
    ]);
  });

  test('without an engine only the files are looked at, and the engine is never called', () => {
    const h = host();
    populated(h);
    const result = h.scan(undefined);
    expect(result.status).toBe(0);
    const found = byId(parseFindings(result.stdout, h.base));
    expect(found.map((f) => f.sandbox_id)).toEqual([
      'aaaaaaaaaaaa',
      'bbbbbbbbbbbb',
      'cccccccccccc',
      'dddddddddddd',
      'gggggggggggg',
      'hhhhhhhhhhhh',
    ]);
    expect(found.find((f) => f.sandbox_id === 'hhhhhhhhhhhh')).toEqual({
      sandbox_id: 'hhhhhhhhhhhh',
      resources: ['expiry switch'],
    });
    expect(h.engineCalls()).toEqual([]);
  });

  test('podman is asked the same questions', () => {
    const h = host();
    populated(h);
    expect(byId(parseFindings(h.scan('podman').stdout, h.base))).toEqual(EXPECTED(h.base));
    expect(h.engineCalls().map((c) => c[0])).toEqual(['ps', 'network', 'volume', 'images']);
    // Podman 4.3's listings have no `.Label` (a template error): its label maps are indexed.
    const formats = h.engineCalls().map((c) => c[c.indexOf('--format') + 1]);
    expect(formats).toEqual([
      '{{.ID}} {{index .Labels "dev.sandboxer.sandbox-id"}} {{index .Labels "dev.sandboxer.expires-at"}}',
      '{{.ID}} {{index .Network.Labels "dev.sandboxer.sandbox-id"}} {{index .Network.Labels "dev.sandboxer.expires-at"}}',
      '{{.Name}} {{index .Labels "dev.sandboxer.sandbox-id"}} {{index .Labels "dev.sandboxer.expires-at"}}',
      '{{.Repository}}:{{.Tag}}',
    ]);
  });

  test('an empty or missing base, and a failing engine, are no error: nothing is found', () => {
    const h = host();
    writeFileSync(join(h.root, 'fail'), '');
    expect(h.scan('docker')).toEqual({ status: 0, stdout: '', stderr: '' });
    rmSync(h.base, { recursive: true });
    expect(h.scan('docker')).toEqual({ status: 0, stdout: '', stderr: '' });
  });

  test('trash left by a background deletion that died is found once older than 5 minutes, with its removal time', () => {
    const h = host();
    const trash = join(h.base, '.sandboxer-trash');
    const old = join(trash, 'sbx-iiiiiiiiiiii.4242');
    const fresh = join(trash, 'sbx-jjjjjjjjjjjj.4243');
    for (const dir of [old, fresh, join(trash, 'sbx-bad name.1'), join(trash, 'other')]) {
      mkdirSync(dir, { recursive: true });
    }
    const removedAt = new Date('2026-01-01T00:00:00.000Z');
    utimesSync(old, removedAt, removedAt);
    utimesSync(join(trash, 'sbx-bad name.1'), removedAt, removedAt);
    const result = h.scan(undefined);
    expect(result.status).toBe(0);
    expect(parseFindings(result.stdout, h.base)).toEqual([
      {
        sandbox_id: 'iiiiiiiiiiii',
        resources: [`directory ${trash}/sbx-iiiiiiiiiiii.4242 (removed, deletion unfinished)`],
        expires_at: removedAt.toISOString(),
      },
    ]);
  });

  test('a host without the engine installed still answers', () => {
    const h = host();
    populated(h);
    // Only the tools the scan itself needs (this machine may well have a real docker).
    const tools = join(h.root, 'tools');
    mkdirSync(tools);
    for (const tool of ['head', 'tr', 'sed']) {
      symlinkSync(sh(`command -v ${tool}`).stdout.trim(), join(tools, tool));
    }
    const result = sh(`PATH=${quoteForTest(tools)}; ${findSandboxesCommand(h.base, 'docker')}`);
    expect(result).toMatchObject({ status: 0, stderr: '' });
    expect(parseFindings(result.stdout, h.base)).toHaveLength(6);
  });

  test('a marker is read only up to 4000 bytes and on one line', () => {
    const h = host();
    sandboxDir(
      h.base,
      'sbx-aaaaaaaaaaaa',
      `{"expires_at":"2030-01-01T00:00:00.000Z",\n"pad":"${'x'.repeat(10_000)}"}`,
    );
    const result = h.scan(undefined);
    expect(result.stdout.split('\n').filter(Boolean)).toHaveLength(1);
    expect(result.stdout.length).toBeLessThan(4200);
    // Cut short, so torn: the directory is still reported, without an expiry.
    expect(parseFindings(result.stdout, h.base)).toEqual([
      { sandbox_id: 'aaaaaaaaaaaa', resources: [`directory ${h.base}/sbx-aaaaaaaaaaaa`] },
    ]);
  });

  // `docker volume ls` has no `.ID` field: Docker (checked with 20.10.24) answers `template
  // parsing error: … can't evaluate field ID in type *formatter.volumeContext` and exits 1, which the
  // scan's `2>/dev/null` would hide. Volumes are listed by `{{.Name}}`, and reported by their whole
  // name (a name, unlike an ID, is not unique in its first 12 characters). The fake engine mirrors
  // Docker's refusal.
  test('labelled volumes are found, by their whole name', () => {
    const h = host();
    writeFileSync(
      join(h.root, 'volume'),
      [
        'sbx-iiiiiiiiiiii_db iiiiiiiiiiii 2030-01-01T00:00:00.000Z',
        'sbx-iiiiiiiiiiii_cache iiiiiiiiiiii 2030-01-01T00:00:00.000Z',
        '',
      ].join('\n'),
    );
    expect(parseFindings(h.scan('docker').stdout, h.base)).toEqual([
      {
        sandbox_id: 'iiiiiiiiiiii',
        resources: ['volume sbx-iiiiiiiiiiii_db', 'volume sbx-iiiiiiiiiiii_cache'],
        expires_at: '2030-01-01T00:00:00.000Z',
      },
    ]);
  });

  // Images Compose built carry no labels: they are found by the project's name in theirs, as v1 and
  // podman-compose (`_`, podman adds `localhost/`) and v2 (`-`) name them; nothing else is.
  test('images built for a sandbox are found by their name', () => {
    const h = host();
    writeFileSync(
      join(h.root, 'images'),
      [
        'sbx-jjjjjjjjjjjj_web:latest',
        'localhost/sbx-kkkkkkkkkkkk_api:latest',
        'sbx-llllllllllll-worker:latest',
        'sandboxer-test/busybox:latest',
        'myorg/sbx-mmmmmmmmmmmm_web:latest',
        'sbx-short_web:latest',
        '<none>:<none>',
        '',
      ].join('\n'),
    );
    expect(byId(parseFindings(h.scan('podman').stdout, h.base))).toEqual([
      { sandbox_id: 'jjjjjjjjjjjj', resources: ['image sbx-jjjjjjjjjjjj_web:latest'] },
      { sandbox_id: 'kkkkkkkkkkkk', resources: ['image localhost/sbx-kkkkkkkkkkkk_api:latest'] },
      { sandbox_id: 'llllllllllll', resources: ['image sbx-llllllllllll-worker:latest'] },
    ]);
  });

  // A name under the base is printed into a line-and-space format, so a directory `sbx-<id> x`
  // would be reported as sandbox <id> (a directory that does not exist), and a name holding a
  // newline could forge a whole line, e.g. an expired `dir` finding for another sandbox, which gc
  // would then destroy as "unknown, expired". Anyone who can write to the base could try (sandboxes
  // at the `directory` isolation level can). The shell skips directory names with anything but
  // [a-z0-9-] and switch files with anything but [a-z0-9.].
  test('names that are not exactly sbx-<id> are ignored, whatever they hold', () => {
    const h = host();
    sandboxDir(h.base, 'sbx-aaaaaaaaaaaa x');
    sandboxDir(h.base, 'sbx-x\ndir sbx-bbbbbbbbbbbb {"expires_at":"2000-01-01T00:00:00.000Z"}');
    sandboxDir(h.base, 'sbx-dddddddddddd\t');
    switchFile(h.base, 'x\nswitch cccccccccccc 1.expires', '1893456000\n');
    switchFile(h.base, 'eeeeeeeeeeee 1.expires', '1893456000\n');
    switchFile(h.base, 'ffffffffffff.expires\n.expires', '1893456000\n');
    const result = h.scan(undefined);
    expect(result).toMatchObject({ status: 0, stdout: '', stderr: '' });
    expect(parseFindings(result.stdout, h.base)).toEqual([]);
  });

  test('well-formed names next to hostile ones are still found', () => {
    const h = host();
    sandboxDir(h.base, 'sbx-aaaaaaaaaaaa', '{"expires_at":"2030-01-01T00:00:00.000Z"}');
    sandboxDir(h.base, 'sbx-aaaaaaaaaaaa x');
    switchFile(h.base, 'aaaaaaaaaaaa.expires', '1893456000\n');
    switchFile(h.base, 'x\nswitch cccccccccccc 1.expires', '1893456000\n');
    expect(parseFindings(h.scan(undefined).stdout, h.base)).toEqual([
      {
        sandbox_id: 'aaaaaaaaaaaa',
        resources: [`directory ${h.base}/sbx-aaaaaaaaaaaa`, 'expiry switch'],
        expires_at: '2030-01-01T00:00:00.000Z',
      },
    ]);
  });
});

describe('parseFindings', () => {
  const base = '/srv/sandboxer';

  test('groups the lines of one sandbox into one finding, in the order found', () => {
    const output = [
      'dir sbx-abc123def456 {"expires_at":"2030-01-01T00:00:00.000Z"}',
      'switch abc123def456 1893456000',
      'container 0123456789abcdef abc123def456 2030-01-01T00:00:00.000Z',
      'network 0123456789ab abc123def456 2030-01-01T00:00:00.000Z',
      'volume sbx-abc123def456_data abc123def456 2030-01-01T00:00:00.000Z',
      'dir sbx-000000000000 ',
    ].join('\n');
    expect(parseFindings(output, base)).toEqual([
      {
        sandbox_id: 'abc123def456',
        resources: [
          'directory /srv/sandboxer/sbx-abc123def456',
          'expiry switch',
          'container 0123456789ab',
          'network 0123456789ab',
          'volume sbx-abc123def456_data',
        ],
        expires_at: '2030-01-01T00:00:00.000Z',
      },
      { sandbox_id: '000000000000', resources: ['directory /srv/sandboxer/sbx-000000000000'] },
    ]);
  });

  const marker = (field: string, at: string) => `dir sbx-abc123def456 {"${field}":"${at}"}`;
  const switchLine = 'switch abc123def456 1893456000'; // 2030-01-01T00:00:00.000Z
  const label = 'container 0123456789ab abc123def456 2027-01-01T00:00:00.000Z';

  test.each([
    [
      'switch over marker and label',
      [label, marker('expires_at', '2028-01-01T00:00:00.000Z'), switchLine],
      '2030-01-01T00:00:00.000Z',
    ],
    ['switch over label', [label, switchLine], '2030-01-01T00:00:00.000Z'],
    [
      'marker over label',
      [label, marker('expires_at', '2028-01-01T00:00:00.000Z')],
      '2028-01-01T00:00:00.000Z',
    ],
    [
      'the label-style marker field over the snake_case one',
      [
        'dir sbx-abc123def456 {"expires_at":"2028-01-01T00:00:00.000Z","dev.sandboxer.expires-at":"2029-01-01T00:00:00.000Z"}',
      ],
      '2029-01-01T00:00:00.000Z',
    ],
    ['a label when nothing else says', [label], '2027-01-01T00:00:00.000Z'],
    [
      'the last label of several',
      [label, 'volume v abc123def456 2026-01-01T00:00:00.000Z'],
      '2026-01-01T00:00:00.000Z',
    ],
    [
      'a label when the switch is unreadable',
      ['switch abc123def456 soon', label],
      '2027-01-01T00:00:00.000Z',
    ],
    [
      'a label when the marker is torn',
      ['dir sbx-abc123def456 {"expires_at":"20', label],
      '2027-01-01T00:00:00.000Z',
    ],
    ['nothing when no one says', ['dir sbx-abc123def456 ', 'switch abc123def456 '], undefined],
  ])('expiry: %s', (_what, lines, expected) => {
    const [finding] = parseFindings(lines.join('\n'), base);
    expect(finding?.expires_at).toBe(expected);
  });

  test.each([
    ['an empty output', ''],
    ['blank lines', '\n\n   \n'],
    ['an unknown kind', 'pod abc abc123def456 2030-01-01T00:00:00.000Z'],
    ['a bare kind', 'dir\nswitch\ncontainer\nnetwork\nvolume'],
    [
      'a directory with a bad id',
      'dir sbx-ABC123DEF456 {}\ndir sbx-abc123 {}\ndir sbx- {}\ndir sbx-abc123def456x {}',
    ],
    ['a directory without the sbx- prefix', 'dir ../../etc {}'],
    ['a switch with a bad id', 'switch ../../x 1\nswitch abc123 1\nswitch sbx-abc123def456 1'],
    ['a container without a sandbox label', 'container 0123456789ab\ncontainer 0123456789ab  2030-01-01'],
    [
      'resources labelled with a bad id',
      'container c NOT-AN-ID 1\nnetwork n abc123def4567 1\nvolume v ../x 1',
    ],
    ['kinds in another case', 'DIR sbx-abc123def456 {}\nContainer c abc123def456 1'],
  ])('ignores %s', (_what, output) => {
    expect(parseFindings(output, base)).toEqual([]);
  });

  test.each([
    ['torn', '{"expires_at":"2030-01-01'],
    ['empty', ''],
    ['not JSON', 'user data, not ours'],
    ['JSON null', 'null'],
    ['a JSON number', '42'],
    ['a JSON array', '["expires_at"]'],
    ['without an expiry', '{"sandbox_id":"abc123def456"}'],
  ])('a %s marker: the directory is still reported, without an expiry', (_what, text) => {
    expect(parseFindings(`dir sbx-abc123def456 ${text}`, base)).toEqual([
      { sandbox_id: 'abc123def456', resources: ['directory /srv/sandboxer/sbx-abc123def456'] },
    ]);
  });

  test('a marker with spaces inside is read whole', () => {
    const [finding] = parseFindings(
      'dir sbx-abc123def456 { "expires_at" : "2030-01-01T00:00:00.000Z" }',
      base,
    );
    expect(finding?.expires_at).toBe('2030-01-01T00:00:00.000Z');
  });

  test('surrounding blanks and a CRLF line end are tolerated', () => {
    expect(parseFindings('  switch abc123def456 1893456000\r\n', base)).toEqual([
      { sandbox_id: 'abc123def456', resources: ['expiry switch'], expires_at: '2030-01-01T00:00:00.000Z' },
    ]);
  });
});
