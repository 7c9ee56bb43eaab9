import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { create as createTar, list as listTar } from 'tar';
import { describe, expect, test } from 'vitest';
import { loadRepoIgnore } from '../../src/sync/ignore-rules.js';
import { parseRsyncStats, type RsyncPlan, rsyncArgs, rsyncFilterRules } from '../../src/sync/rsync-args.js';
import { fakeBin } from '../compose/fake-bin.js';
import { tempDir } from '../support/fixtures.js';

const hasRsync = spawnSync('rsync', ['--version'], { stdio: 'ignore' }).status === 0;

const plan: RsyncPlan = {
  localDir: '/work/repo',
  remoteDir: '/home/sbx/sandboxer/sbx-abc123def456',
  rsh: ['/usr/bin/node', '/tmp/sandboxer-sync-x/bridge.cjs', '/tmp/sandboxer-sync-x/rsync.sock'],
  filterFile: '/tmp/sandboxer-sync-x/filter',
};

describe('rsyncFilterRules', () => {
  test.each<[string, string[], string[]]>([
    ['nothing', [], []],
    ['the fixed rules', ['.git', 'node_modules'], ['- node_modules', '- .git']],
    [
      'gitignore last-match-wins becomes rsync first-match-wins',
      ['*.log', '!keep.log', '.git', 'node_modules'],
      ['- node_modules', '- .git', '+ keep.log', '- *.log'],
    ],
    [
      'a re-include of a fixed rule comes after it, so it never matches first',
      ['!node_modules', '.git', 'node_modules'],
      ['- node_modules', '- .git', '+ node_modules'],
    ],
    ['a later exclude overrides an earlier re-include', ['!keep.log', '*.log'], ['- *.log', '+ keep.log']],
    [
      'directory-only, root-anchored and **/ patterns pass through',
      ['build/', '/dist', '**/tmp', '**/a/b', '/a/b/'],
      ['- /a/b/', '- **/a/b', '- **/tmp', '- /dist', '- build/'],
    ],
    [
      'a slash before the end anchors at the root (as in gitignore)',
      ['logs/**', 'src/gen', 'docs/*.md', 'a/b/', 'x/**/y'],
      ['- /x/**/y', '- /a/b/', '- /docs/*.md', '- /src/gen', '- /logs/**'],
    ],
    [
      'a re-include is anchored after its ! is stripped',
      ['logs/*', '!logs/keep.log', '!/dist/keep', '!**/tmp/keep'],
      ['+ **/tmp/keep', '+ /dist/keep', '+ /logs/keep.log', '- /logs/*'],
    ],
    ['only the leading ! negates', ['a!b', '!!x'], ['+ !x', '- a!b']],
  ])('%s', (_name, patterns, expected) => {
    expect(rsyncFilterRules(patterns)).toEqual(expected);
  });

  test('does not reorder its argument', () => {
    const patterns = ['a', 'b'];
    rsyncFilterRules(patterns);
    expect(patterns).toEqual(['a', 'b']);
  });
});

describe('rsyncArgs', () => {
  const argv = (p: RsyncPlan, rsh: string, local: string, remote: string, extra: string[] = []) => [
    '--archive',
    '--delete',
    ...extra,
    '--stats',
    '--no-inc-recursive',
    '--protect-args',
    '--timeout=60',
    `--filter=merge ${p.filterFile}`,
    '-e',
    rsh,
    '--',
    local,
    remote,
  ];
  const rsh = '/usr/bin/node /tmp/sandboxer-sync-x/bridge.cjs /tmp/sandboxer-sync-x/rsync.sock';

  test.each<[string, RsyncPlan, string[]]>([
    [
      'trailing slashes added; the host is the bridge, which the open session stands for',
      plan,
      argv(plan, rsh, '/work/repo/', 'sandboxer-session:/home/sbx/sandboxer/sbx-abc123def456/'),
    ],
    [
      'trailing slashes not doubled',
      { ...plan, localDir: '/work/repo/', remoteDir: '/srv/x/' },
      argv(plan, rsh, '/work/repo/', 'sandboxer-session:/srv/x/'),
    ],
    [
      'the cache: --delete-excluded, and its locked rsync on the host',
      { ...plan, deleteExcluded: true, rsyncPath: 'flock /c.lock rsync' },
      [
        ...argv(plan, rsh, '/work/repo/', 'sandboxer-session:/home/sbx/sandboxer/sbx-abc123def456/', [
          '--delete-excluded',
        ]).slice(0, 8),
        '--rsync-path=flock /c.lock rsync',
        ...argv(plan, rsh, '/work/repo/', 'sandboxer-session:/home/sbx/sandboxer/sbx-abc123def456/').slice(7),
      ],
    ],
    [
      // With --protect-args the remote path goes to the remote rsync as data, so it is not quoted here.
      'spaces in paths: local and remote as they are, -e words single-quoted',
      {
        localDir: '/Users/me/My Repo',
        remoteDir: '/home/sbx/my sandboxes/sbx-1',
        rsh: ['/opt/node 20/bin/node', '/tmp/a b/bridge.cjs', '/tmp/a b/rsync.sock'],
        filterFile: '/tmp/a b/filter',
      },
      argv(
        { ...plan, filterFile: '/tmp/a b/filter' },
        "'/opt/node 20/bin/node' '/tmp/a b/bridge.cjs' '/tmp/a b/rsync.sock'",
        '/Users/me/My Repo/',
        'sandboxer-session:/home/sbx/my sandboxes/sbx-1/',
      ),
    ],
  ])('%s', (_name, p, expected) => {
    expect(rsyncArgs(p)).toEqual(expected);
  });

  test.each([
    ['a single quote in the scratch path', "/tmp/it's/bridge.cjs"],
    ['a newline in the scratch path', '/tmp/a\nb/bridge.cjs'],
    ['a CR in the scratch path', '/tmp/a\rb/bridge.cjs'],
  ])('refuses %s', (_name, word) => {
    expect(() => rsyncArgs({ ...plan, rsh: ['/usr/bin/node', word] })).toThrow(
      `cannot pass ${JSON.stringify(word)} to rsync -e`,
    );
  });

  /**
   * rsync splits `-e` itself (spaces, honouring quotes) and runs the result; a fake remote shell
   * first in PATH shows the argv the bridge would get, and that the remote path is not on it.
   */
  test.skipIf(!hasRsync)('real rsync hands its remote shell exactly these words', () => {
    const fake = fakeBin(['bridge'], { exitCode: 255 });
    const odd = join(fake.root, 'scratch dir "x" $HOME `id` ;');
    mkdirSync(odd);
    const local = join(fake.root, 'repo');
    mkdirSync(local);
    writeFileSync(join(local, 'f'), 'x\n');
    const filterFile = join(fake.root, 'filter');
    writeFileSync(filterFile, '');
    const p: RsyncPlan = {
      localDir: local,
      remoteDir: `/home/sbx/my sandboxes/$(touch ${fake.marker})`,
      rsh: ['bridge', join(odd, 'bridge.cjs'), join(odd, 'rsync.sock')],
      filterFile,
    };
    const result = spawnSync('rsync', rsyncArgs(p), { env: fake.env(), encoding: 'utf8' });
    expect(result.status).not.toBe(0);
    const [call, ...more] = fake.calls();
    expect(more).toEqual([]);
    const words = [join(odd, 'bridge.cjs'), join(odd, 'rsync.sock'), 'sandboxer-session'];
    expect(call?.args.slice(0, words.length)).toEqual(words);
    expect(call?.args[words.length]).toBe('rsync');
    expect(call?.args.join('\n')).not.toContain('sandboxes');
    expect(fake.pwned()).toEqual([]);
  });
});

/** What real `rsync --stats` prints; the sample with big numbers is from rsync 3.2 on a real repo. */
const STATS_3_2 = `
Number of files: 1,236 (reg: 1,201, dir: 35)
Number of created files: 1,234 (reg: 1,200, dir: 34)
Number of deleted files: 0
Number of regular files transferred: 1,200
Total file size: 12,345,678 bytes
Total transferred file size: 12,345,678 bytes
Literal data: 12,345,678 bytes
Matched data: 0 bytes
File list size: 45,678
File list generation time: 0.001 seconds
File list transfer time: 0.000 seconds
Total bytes sent: 12,400,123
Total bytes received: 23,456

sent 12,400,123 bytes  received 23,456 bytes  8,282,386.00 bytes/sec
total size is 12,345,678  speedup is 0.99
`;

/** rsync 2.6.9, still /usr/bin/rsync on older macOS: no "regular" in the files line. */
const STATS_2_6 = `
Number of files: 3
Number of files transferred: 2
Total file size: 10 bytes
Total transferred file size: 10 bytes
Literal data: 10 bytes
Matched data: 0 bytes
File list size: 92
File list generation time: 0.001 seconds
File list transfer time: 0.000 seconds
Total bytes sent: 230
Total bytes received: 64
`;

describe('parseRsyncStats', () => {
  test.each([
    ['rsync 3.2 with digit grouping', STATS_3_2, { files: 1200, bytes: 12400123 }],
    [
      'nothing to do',
      'Number of regular files transferred: 0\nTotal bytes sent: 95\n',
      { files: 0, bytes: 95 },
    ],
    ['no stats at all', 'rsync: connection unexpectedly closed\n', { files: 0, bytes: 0 }],
    ['empty', '', { files: 0, bytes: 0 }],
    ['rsync 2.6.9 (older macOS): "Number of files transferred"', STATS_2_6, { files: 2, bytes: 230 }],
    [
      'digits grouped with . (a locale such as de_DE)',
      'Number of regular files transferred: 1.200\nTotal bytes sent: 12.400.123\n',
      { files: 1200, bytes: 12400123 },
    ],
    [
      '"Number of files" and "Number of created files" are not the files transferred',
      'Number of files: 1,236 (reg: 1,201, dir: 35)\nNumber of created files: 7\nTotal bytes sent: 95\n',
      { files: 0, bytes: 95 },
    ],
  ])('%s', (_name, output, expected) => {
    expect(parseRsyncStats(output)).toEqual(expected);
  });

  test.skipIf(!hasRsync)('reads what the local rsync prints', () => {
    const root = tempDir('sbx-rsync-stats-');
    const src = join(root, 'src');
    const dst = join(root, 'dst');
    mkdirSync(join(src, 'sub'), { recursive: true });
    mkdirSync(dst);
    // Incompressible-looking content so "Total bytes sent" passes 1,000 and shows a separator.
    writeFileSync(
      join(src, 'big.bin'),
      Buffer.from(Array.from({ length: 5000 }, (_, i) => (i * 7919) % 251)),
    );
    writeFileSync(join(src, 'a.txt'), 'a\n');
    writeFileSync(join(src, 'sub', 'b.txt'), 'b\n');
    const rsync = () => execFileSync('rsync', ['-a', '--stats', `${src}/`, `${dst}/`], { encoding: 'utf8' });

    const first = rsync();
    expect(first).toMatch(/Total bytes sent: \d{1,3}(,\d{3})+\n/);
    const stats = parseRsyncStats(first);
    expect(stats.files).toBe(3);
    expect(stats.bytes).toBeGreaterThan(5000);
    expect(stats.bytes).toBeLessThan(10_000);

    expect(parseRsyncStats(rsync()).files).toBe(0);
    writeFileSync(join(src, 'a.txt'), 'changed\n');
    expect(parseRsyncStats(rsync()).files).toBe(1);
  });
});

/**
 * The two sync paths must copy the same files: rsync with rsyncFilterRules, and the tar stream
 * filtered by loadRepoIgnore (as repo-sync's viaTar does). Both run for real on one repo.
 */
const TREE = [
  'README.md',
  'a.log',
  'keep.log',
  'logs/x.log',
  'logs/keep.log',
  'src/app.ts',
  'src/gen/x.ts',
  'lib/src/gen/y.ts',
  'build/out.js',
  'pkg/build/out.js',
  'dist/a.js',
  'pkg/dist/b.js',
  'docs/a.md',
  'x/docs/b.md',
  'tmp/t',
  'pkg/tmp/t',
  '.env',
  '.env.example',
  '.github/workflows/ci.yml',
  '.git/HEAD',
  'node_modules/dep/index.js',
  'pkg/node_modules/dep/index.js',
];

function repoWith(ignoreFile: string): string {
  const repo = tempDir('sbx-sync-repo-');
  for (const file of TREE) {
    mkdirSync(dirname(join(repo, file)), { recursive: true });
    writeFileSync(join(repo, file), `${file}\n`);
  }
  writeFileSync(join(repo, '.sandboxerignore'), ignoreFile);
  return repo;
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => relative(dir, join(entry.parentPath, entry.name)))
    .sort();
}

function viaRsync(repo: string): string[] {
  const scratch = tempDir('sbx-sync-dst-');
  const filterFile = join(scratch, 'filter');
  writeFileSync(filterFile, `${rsyncFilterRules(loadRepoIgnore(repo).patterns).join('\n')}\n`);
  const dst = join(scratch, 'dst');
  mkdirSync(dst);
  execFileSync('rsync', ['--archive', `--filter=merge ${filterFile}`, '--', `${repo}/`, `${dst}/`]);
  return filesUnder(dst);
}

function viaTar(repo: string): string[] {
  const rules = loadRepoIgnore(repo);
  const file = join(tempDir('sbx-sync-tar-'), 'repo.tgz');
  createTar({ file, sync: true, cwd: repo, gzip: true, filter: (path) => !rules.ignores(join(repo, path)) }, [
    '.',
  ]);
  const files: string[] = [];
  listTar({
    file,
    sync: true,
    onReadEntry: (entry) => {
      if (entry.type === 'File') files.push(entry.path.replace(/^\.\//, ''));
    },
  });
  return files.sort();
}

describe.skipIf(!hasRsync)('rsync and tar copy the same files', () => {
  test.each([
    ['only the fixed rules', ''],
    ['comments and blank lines', '# build output\n\n   \n# *.md\n'],
    ['*.log with a re-include', '*.log\n!keep.log\n'],
    ['re-include then exclude again', '!keep.log\n*.log\n'],
    ['directory-only', 'build/\n'],
    ['anchored at the root', '/dist\n'],
    ['any depth', '**/tmp\n'],
    ['a name matching files and directories', 'tmp\n'],
    ['dotfiles with an exception', '.env*\n!.env.example\n'],
    ['everything in a dir but one', 'logs/*\n!logs/keep.log\n'],
    ['*.md but the README', '*.md\n!README.md\n'],
    // gitignore anchors these to the root; rsyncFilterRules gives them a leading "/" so rsync does too.
    ['a path with a slash in the middle', 'src/gen\n'],
    ['a glob under a directory', 'docs/*.md\n'],
    ['a directory path with a trailing slash', 'src/gen/\n'],
    ['a re-include of the fixed rules has no effect', '!node_modules\n!.git\n!node_modules/**\n'],
  ])('%s', (_name, ignoreFile) => {
    const repo = repoWith(ignoreFile);
    const tar = viaTar(repo);
    expect(viaRsync(repo)).toEqual(tar);
    expect(tar).not.toContain('.git/HEAD');
    expect(tar.some((f) => f.includes('node_modules'))).toBe(false);
  });

  test('an anchored pattern keeps the same path deeper down', () => {
    const files = viaRsync(repoWith('src/gen\ndocs/*.md\n'));
    expect(files).toContain('lib/src/gen/y.ts');
    expect(files).toContain('x/docs/b.md');
    expect(files).not.toContain('src/gen/x.ts');
    expect(files).not.toContain('docs/a.md');
  });
});
