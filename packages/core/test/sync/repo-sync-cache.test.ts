import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { basename, dirname, join, relative } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import { RemoteCommandError } from '../../src/errors.js';
import { MARKER_FILE } from '../../src/extensions/builtin/remote-workspace/workspace.js';
import { quote } from '../../src/ssh/quote.js';
import type { ExecOptions, ExecResult, SshSession } from '../../src/ssh/session.js';
import { fillFromCacheScript, prepareSpareCommand, spareOf } from '../../src/sync/host-cache.js';
import { probeHost } from '../../src/sync/host-probe.js';
import { syncRepo } from '../../src/sync/sync-repo.js';
import { sampleRepo, tempDir } from '../support/fixtures.js';

/**
 * The host-side sync cache, with a real rsync on both ends and the real bridge between them: the SSH
 * boundary is replaced by a session whose commands (rsync's server among them, through the bridge's
 * stream) run in a local /bin/sh, as sshd would run them.
 */

const hasTools = ['rsync', 'flock'].every(
  (tool) => spawnSync(tool, ['--version'], { stdio: 'ignore' }).status === 0,
);

/** Every command rsync ran "over SSH" (the fake session's streams), in order. */
const streamed: string[] = [];

/** An ssh-ed25519 public key blob (only its type is read, for the known_hosts line). */
function fakeHostKey(): Buffer {
  const type = Buffer.from('ssh-ed25519');
  const u32 = (n: number) => {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(n);
    return b;
  };
  return Buffer.concat([u32(type.length), type, u32(32), Buffer.alloc(32, 7)]);
}

/**
 * The SSH session, replaced: commands run in a local sh with `path` as PATH. `before` may hold a
 * command back, as a slow network would.
 */
function localSession(
  path: string,
  before: (cmd: string) => Promise<void> = async () => {},
): SshSession & { commands: string[] } {
  const commands: string[] = [];
  const exec = async (cmd: string, options: ExecOptions = {}) => {
    await before(cmd);
    return new Promise<ExecResult>((resolve, reject) => {
      commands.push(cmd);
      const child = spawn('/bin/sh', ['-c', cmd], { env: { PATH: path, LC_ALL: 'C', HOME: '/nonexistent' } });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk: Buffer) => {
        stdout += chunk.toString();
      });
      child.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
      });
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, stdout, stderr, timedOut: false }));
      if (typeof options.stdin === 'string') child.stdin.end(options.stdin);
      else if (options.stdin) options.stdin.pipe(child.stdin);
      else child.stdin.end();
    });
  };
  const run = async (cmd: string, options: ExecOptions = {}) => {
    const result = await exec(cmd, options);
    if (result.code !== 0)
      throw new RemoteCommandError(`${options.what ?? 'command'} failed: ${result.stderr}`, result.code);
    return result.stdout;
  };
  const stream = async (cmd: string) => {
    streamed.push(cmd);
    const child = spawn('/bin/sh', ['-c', cmd], { env: { PATH: path, LC_ALL: 'C', HOME: '/nonexistent' } });
    const done = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    return { input: child.stdin, output: child.stdout, errors: child.stderr, done, stop: () => child.kill() };
  };
  return {
    destination: 'sbx@sandbox-host:22',
    stream,
    hostKey: fakeHostKey(),
    commands,
    exec,
    run,
    home: async () => '/nonexistent',
    close: () => {},
  } as unknown as SshSession & { commands: string[] };
}

/** Every regular file under `dir`, relative, sorted. */
function files(dir: string): string[] {
  const found: string[] = [];
  const walk = (d: string) => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const path = join(d, entry.name);
      if (entry.isDirectory()) walk(path);
      else found.push(relative(dir, path));
    }
  };
  walk(dir);
  return found.sort();
}

const SYNCED = ['.sandboxerignore', 'README.md', 'big.bin', 'src/app.txt'];
const MARKER = '{"sandbox_id":"aaaaaaaaaaaa"}\n';

const scratch: string[] = [];
const scratchDir = (prefix: string) => {
  const dir = tempDir(prefix);
  scratch.push(dir);
  return dir;
};
afterAll(() => {
  for (const dir of scratch) rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(!hasTools)('syncRepo through the host cache (real rsync, real bridge, local "host")', () => {
  let repo: string;
  let hostRoot: string;

  beforeEach(() => {
    streamed.length = 0;
    repo = sampleRepo();
    scratch.push(repo);
    writeFileSync(join(repo, 'big.bin'), randomBytes(200_000));
    // A repo file named like the marker: never ours to copy.
    writeFileSync(join(repo, MARKER_FILE), '{"sandbox_id":"from-the-repo"}\n');
    // Quotes and spaces in the host's paths go through --rsync-path's remote shell.
    hostRoot = join(scratchDir('sbx-host-'), "sand boxer's");
    mkdirSync(hostRoot);
  });
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  /** A sandbox directory as createWorkspace leaves it: just the marker. */
  function sandbox(id: string): string {
    const dir = join(hostRoot, `sbx-${id}`);
    mkdirSync(dir);
    writeFileSync(join(dir, MARKER_FILE), MARKER);
    return dir;
  }

  const sshCommands = () => [...streamed];

  /** What each remote command ran before rsync's own server arguments. */
  const rsyncPaths = () => sshCommands().map((c) => c.split(' --server ')[0]);

  /** The --rsync-path of a sync via the cache: rsync, then the fill from the cache, under one flock. */
  // Under the lock: mark the cache used (the lock's mtime, which gc's pruning reads), make it again
  // if gc just pruned it, rsync into it, fill the sandbox from it.
  const cacheRsyncPath = (cacheDir: string, dir: string) => {
    const use = `touch -- ${quote(`${cacheDir}.lock`)} && (umask 077 && mkdir -p -- ${quote(cacheDir)})`;
    return `flock ${quote(`${cacheDir}.lock`)} sh -c ${quote(`${use} && rsync "$@" && ${fillFromCacheScript(cacheDir, dir, [MARKER_FILE])}`)} rsync`;
  };

  /** Waits until no background spare copy of the cache is being made (`<key>.spare-tmp.<pid>`). */
  function settle(cacheDir: string): void {
    const making = (name: string) => name.startsWith(`${basename(spareOf(cacheDir).making)}.`);
    for (let i = 0; i < 100 && readdirSync(dirname(cacheDir)).some(making); i++) spawnSync('sleep', ['0.05']);
    spawnSync('flock', [`${cacheDir}.lock`, 'true']);
  }

  /** Starts a spare copy as a teardown does (prepareSpareCommand) and waits until it is ready. */
  function spareMade(cacheDir: string): void {
    spawnSync('/bin/sh', ['-c', prepareSpareCommand(cacheDir)]);
    for (let i = 0; i < 100 && !existsSync(spareOf(cacheDir).ready); i++) spawnSync('sleep', ['0.05']);
    settle(cacheDir);
  }
  afterEach(() => {
    // A spare may still be in the making: let it finish before the scratch dirs go.
    const caches = join(hostRoot, '.sandboxer-cache');
    if (!existsSync(caches)) return;
    for (const name of readdirSync(caches))
      if (name.endsWith('.lock')) settle(join(caches, name.slice(0, -5)));
  });

  test('first sync fills the cache, a second one sends almost nothing, each sandbox gets a real copy', async () => {
    const session = localSession(process.env.PATH ?? '');
    const cacheDir = join(hostRoot, '.sandboxer-cache', '0123456789abcdef');
    const request = {
      session,
      localDir: repo,
      cacheDir,
      protect: [MARKER_FILE],
    };

    const first = sandbox('aaaaaaaaaaaa');
    const one = await syncRepo({ ...request, remoteDir: first });
    expect(one).toMatchObject({ method: 'rsync via cache', files: SYNCED.length });
    expect(one.bytes).toBeGreaterThan(200_000);
    expect(files(cacheDir)).toEqual(SYNCED);
    expect(files(first)).toEqual([MARKER_FILE, ...SYNCED].sort());
    expect(readFileSync(join(first, MARKER_FILE), 'utf8')).toBe(MARKER);
    expect(readFileSync(join(first, 'big.bin'))).toEqual(readFileSync(join(repo, 'big.bin')));
    // rsync went to the cache, and the copy into the sandbox followed in the same remote command,
    // both under the cache's one lock.
    expect(sshCommands()).toHaveLength(1);
    expect(rsyncPaths()).toEqual([cacheRsyncPath(cacheDir, first)]);

    // A copy, never a link: changing the sandbox's files leaves the cache as it was.
    for (const name of SYNCED) {
      const inSandbox = statSync(join(first, name));
      expect(inSandbox.ino).not.toBe(statSync(join(cacheDir, name)).ino);
      expect(inSandbox.nlink).toBe(1);
    }
    writeFileSync(join(first, 'README.md'), 'changed in the sandbox\n');
    expect(readFileSync(join(cacheDir, 'README.md'), 'utf8')).toBe('# sample\n');

    const second = sandbox('bbbbbbbbbbbb');
    const two = await syncRepo({ ...request, remoteDir: second });
    expect(two).toMatchObject({ method: 'rsync via cache', files: 0 });
    expect(two.bytes).toBeLessThan(one.bytes / 50);
    expect(files(second)).toEqual([MARKER_FILE, ...SYNCED].sort());
    expect(readFileSync(join(second, 'README.md'), 'utf8')).toBe('# sample\n');
    expect(readFileSync(join(second, MARKER_FILE), 'utf8')).toBe(MARKER);

    // The repo changes: only that is sent, and what the repo dropped leaves the cache too.
    writeFileSync(join(repo, 'README.md'), '# sample, edited\n');
    rmSync(join(repo, 'src', 'app.txt'));
    const third = sandbox('cccccccccccc');
    const three = await syncRepo({ ...request, remoteDir: third });
    expect(three.files).toBe(1);
    expect(three.bytes).toBeLessThan(one.bytes / 50);
    expect(files(cacheDir)).toEqual(['.sandboxerignore', 'README.md', 'big.bin']);
    expect(files(third)).toEqual([MARKER_FILE, '.sandboxerignore', 'README.md', 'big.bin'].sort());
    expect(readFileSync(join(third, 'README.md'), 'utf8')).toBe('# sample, edited\n');

    // Never the repo's marker in the cache, so never over a sandbox's own.
    expect(existsSync(join(cacheDir, MARKER_FILE))).toBe(false);
    // Three syncs, three remote commands, each filling its own sandbox; no separate copy.
    expect(rsyncPaths()).toEqual([first, second, third].map((dir) => cacheRsyncPath(cacheDir, dir)));
    expect(session.commands.filter((c) => c.includes('cp '))).toEqual([]);
  });

  /** A sync request through the cache, for a sandbox dir to add. */
  function cacheRequest() {
    const cacheDir = join(hostRoot, '.sandboxer-cache', '0123456789abcdef');
    const session = localSession(process.env.PATH ?? '');
    const request = {
      session,
      localDir: repo,
      cacheDir,
      protect: [MARKER_FILE],
    };
    return { cacheDir, request };
  }

  test.each([
    ['a cold cache', false],
    ['a spare copy ready', true],
  ])(
    'a file the current filter leaves out never reaches the sandbox from the cache (%s)',
    async (_what, withSpare) => {
      // Repo A at this path has config/secret.json; repo B at the same path (another branch, or a
      // line added to .sandboxerignore) ignores config/: B's sandbox must not get A's secret.
      const { cacheDir, request } = cacheRequest();
      mkdirSync(join(repo, 'config'));
      writeFileSync(join(repo, 'config', 'secret.json'), '{"token":"from-repo-a"}\n');
      await syncRepo({ ...request, remoteDir: sandbox('aaaaaaaaaaaa') });
      expect(files(cacheDir)).toContain('config/secret.json');
      if (withSpare) spareMade(cacheDir);
      writeFileSync(join(repo, '.sandboxerignore'), '*.log\nconfig/\n');
      const dir = sandbox('bbbbbbbbbbbb');
      await syncRepo({ ...request, remoteDir: dir });
      expect(files(dir).filter((f) => f.startsWith('config/'))).toEqual([]);
      expect(files(cacheDir).filter((f) => f.startsWith('config/'))).toEqual([]);
    },
  );

  test('a spare copy made after one create is moved into the next sandbox, then brought up to date', async () => {
    const { cacheDir, request } = cacheRequest();
    const { ready } = spareOf(cacheDir);

    await syncRepo({ ...request, remoteDir: sandbox('aaaaaaaaaaaa') });
    spareMade(cacheDir);
    // A real copy of the cache, never linked to it.
    expect(files(ready)).toEqual(SYNCED);
    expect(statSync(join(ready, 'big.bin')).ino).not.toBe(statSync(join(cacheDir, 'big.bin')).ino);
    const spareBig = statSync(join(ready, 'big.bin')).ino;

    writeFileSync(join(repo, 'README.md'), '# sample, edited\n');
    rmSync(join(repo, 'src', 'app.txt'));
    writeFileSync(join(repo, 'new.txt'), 'new\n');
    const second = sandbox('bbbbbbbbbbbb');
    await syncRepo({ ...request, remoteDir: second });
    // The spare's files were moved in (same inode), and what changed since was synced onto them.
    expect(statSync(join(second, 'big.bin')).ino).toBe(spareBig);
    expect(files(second)).toEqual(
      [MARKER_FILE, '.sandboxerignore', 'README.md', 'big.bin', 'new.txt'].sort(),
    );
    expect(readFileSync(join(second, 'README.md'), 'utf8')).toBe('# sample, edited\n');
    expect(readFileSync(join(second, MARKER_FILE), 'utf8')).toBe(MARKER);
    // The next one (its sandbox torn down) comes from the updated cache.
    spareMade(cacheDir);
    expect(files(ready)).toEqual(files(cacheDir));
    expect(readFileSync(join(ready, 'README.md'), 'utf8')).toBe('# sample, edited\n');
  });

  test('a stale or tampered spare still gives an exact copy; a half-made one is never used', async () => {
    const { cacheDir, request } = cacheRequest();
    const { ready, making } = spareOf(cacheDir);
    await syncRepo({ ...request, remoteDir: sandbox('aaaaaaaaaaaa') });
    spareMade(cacheDir);
    // Someone on the host changes the spare: a file edited (size differs), one added, a dir removed.
    writeFileSync(join(ready, 'README.md'), 'tampered, and longer than the original\n');
    writeFileSync(join(ready, 'extra.txt'), 'not in the repo\n');
    rmSync(join(ready, 'src'), { recursive: true });
    // A half-made spare (its copy was killed) sits next to it.
    mkdirSync(join(`${making}.4242`, 'junk'), { recursive: true });
    const second = sandbox('bbbbbbbbbbbb');
    await syncRepo({ ...request, remoteDir: second });
    expect(files(second)).toEqual([MARKER_FILE, ...SYNCED].sort());
    expect(readFileSync(join(second, 'README.md'), 'utf8')).toBe('# sample\n');
    // Left alone (a copy less than an hour old may still be running); the next spare is made anew.
    expect(files(`${making}.4242`)).toEqual([]);
    rmSync(`${making}.4242`, { recursive: true });
    spareMade(cacheDir);
    expect(files(ready)).toEqual(SYNCED);
  });

  // The copy runs unlocked: a create of the same repo (whose rsync gives up after 60 s of silence)
  // must not wait for it; only the rename into place takes the cache's lock.
  test('a spare copy in the making does not hold the cache lock', async () => {
    const { cacheDir, request } = cacheRequest();
    await syncRepo({ ...request, remoteDir: sandbox('aaaaaaaaaaaa') });
    const slowBin = join(scratchDir('sbx-slowcp-'), 'bin');
    mkdirSync(slowBin);
    const realCp = spawnSync('/bin/sh', ['-c', 'command -v cp'], { encoding: 'utf8' }).stdout.trim();
    const copying = join(slowBin, '..', 'copying');
    writeFileSync(
      join(slowBin, 'cp'),
      `#!/bin/sh\n: > ${quote(copying)}; sleep 1\nexec ${quote(realCp)} "$@"\n`,
    );
    chmodSync(join(slowBin, 'cp'), 0o755);
    spawnSync('/bin/sh', ['-c', `PATH=${quote(slowBin)}:"$PATH"; ${prepareSpareCommand(cacheDir)}`]);
    for (let i = 0; i < 100 && !existsSync(copying); i++) spawnSync('sleep', ['0.02']);
    expect(existsSync(copying)).toBe(true);
    expect(spawnSync('flock', ['-n', `${cacheDir}.lock`, 'true']).status).toBe(0);
    expect(existsSync(spareOf(cacheDir).ready)).toBe(false);
    spareMade(cacheDir);
    expect(files(spareOf(cacheDir).ready)).toEqual(SYNCED);
  });

  test('the probe makes a missing base with the login umask, and only the cache below it private', async () => {
    const base = join(hostRoot, 'fresh-base');
    const cacheDir = join(base, '.sandboxer-cache', '0123456789abcdef');
    const tools = await probeHost(localSession(process.env.PATH ?? ''), 'auto', cacheDir);
    // overlay: a root login on a kernel with overlayfs (this test's own machine decides).
    expect(tools).toMatchObject({ rsync: true, cache: true });
    expect(statSync(base).mode & 0o777).toBe(0o755 & ~process.umask());
    expect(statSync(cacheDir).mode & 0o777).toBe(0o700);
  });

  test('a host without flock gets a direct rsync into the sandbox, and no cache', async () => {
    // The host's PATH holds rsync and nothing else: `command -v flock` finds nothing.
    const hostBin = join(scratchDir('sbx-hostbin-'), 'bin');
    mkdirSync(hostBin);
    const rsync = spawnSync('/bin/sh', ['-c', 'command -v rsync'], { encoding: 'utf8' }).stdout.trim();
    symlinkSync(rsync, join(hostBin, 'rsync'));
    const session = localSession(hostBin);
    const cacheDir = join(hostRoot, '.sandboxer-cache', '0123456789abcdef');
    const dir = sandbox('aaaaaaaaaaaa');
    writeFileSync(join(dir, 'stale.txt'), 'not in the repo\n');
    const report = await syncRepo({
      session,
      localDir: repo,
      remoteDir: dir,
      cacheDir,
      protect: [MARKER_FILE],
    });
    expect(report).toMatchObject({ method: 'rsync', files: SYNCED.length });
    expect(existsSync(join(hostRoot, '.sandboxer-cache'))).toBe(false);
    expect(sshCommands()).toHaveLength(1);
    expect(sshCommands()[0]).toMatch(/^rsync --server /);
    expect(session.commands).toHaveLength(1);
    // --delete made it exact, except for the marker, which is neither deleted nor overwritten.
    expect(files(dir)).toEqual([MARKER_FILE, ...SYNCED].sort());
    expect(readFileSync(join(dir, MARKER_FILE), 'utf8')).toBe(MARKER);
  });

  // The cache is locked from the rsync to the end of the copy: two creates of one repo path (every
  // CI run of a repo checks out at the same path, so two branches on one host share a cache) must
  // never interleave as rsync A, rsync B, copy A, which would leave B's tree in A's sandbox.
  // A's copy is held back here (a `cp` first in PATH that waits before copying into A's sandbox);
  // B starts meanwhile, and its rsync has to wait for the lock.
  test('two creates of one repo path at once: each sandbox gets its own tree', async () => {
    const cacheDir = join(hostRoot, '.sandboxer-cache', '0123456789abcdef');
    const other = sampleRepo();
    scratch.push(other);
    writeFileSync(join(other, 'README.md'), '# the other branch\n');
    const a = sandbox('aaaaaaaaaaaa');
    const b = sandbox('bbbbbbbbbbbb');

    const slowBin = join(scratchDir('sbx-slowcp-'), 'bin');
    mkdirSync(slowBin);
    const copying = join(slowBin, '..', 'copying-a');
    const realCp = spawnSync('/bin/sh', ['-c', 'command -v cp'], { encoding: 'utf8' }).stdout.trim();
    writeFileSync(
      join(slowBin, 'cp'),
      `#!/bin/sh
case "$*" in *sbx-aaaaaaaaaaaa*) : > ${quote(copying)}; sleep 1 ;; esac
exec ${quote(realCp)} "$@"
`,
    );
    chmodSync(join(slowBin, 'cp'), 0o755);
    vi.stubEnv('PATH', `${slowBin}:${process.env.PATH ?? ''}`);

    const common = { cacheDir, protect: [MARKER_FILE] };
    const syncA = syncRepo({
      ...common,
      session: localSession(process.env.PATH ?? ''),
      localDir: repo,
      remoteDir: a,
    });
    let aDone = false;
    void syncA.then(
      () => {
        aDone = true;
      },
      () => {
        aDone = true;
      },
    );
    // A has synced the cache and is about to copy from it.
    while (!existsSync(copying) && !aDone) await new Promise((r) => setTimeout(r, 20));
    expect(aDone).toBe(false);
    const syncB = syncRepo({
      ...common,
      session: localSession(process.env.PATH ?? ''),
      localDir: other,
      remoteDir: b,
    });
    await Promise.all([syncA, syncB]);
    expect(readFileSync(join(a, 'README.md'), 'utf8')).toBe('# sample\n');
    expect(readFileSync(join(b, 'README.md'), 'utf8')).toBe('# the other branch\n');
    expect(readFileSync(join(a, MARKER_FILE), 'utf8')).toBe(MARKER);
    expect(readFileSync(join(b, MARKER_FILE), 'utf8')).toBe(MARKER);
    expect(readFileSync(join(cacheDir, 'README.md'), 'utf8')).toBe('# the other branch\n');
  });

  // The same race by way of a slow network: had the copy been a command of its own, sent after the
  // rsync, B's whole sync could run before it arrived. Anything A sends once its rsync has gone is
  // held back until B is done; there must be nothing, and each sandbox keeps its own tree.
  test('nothing is sent after the rsync that could let another sync of the cache in before the copy', async () => {
    const cacheDir = join(hostRoot, '.sandboxer-cache', '0123456789abcdef');
    const other = sampleRepo();
    scratch.push(other);
    writeFileSync(join(other, 'README.md'), '# the other branch\n');
    let otherDone = () => {};
    const otherFinished = new Promise<void>((resolve) => {
      otherDone = resolve;
    });
    let lateSent = () => {};
    const late = new Promise<void>((resolve) => {
      lateSent = resolve;
    });
    const heldBack: string[] = [];
    const slow = localSession(process.env.PATH ?? '', async (cmd) => {
      if (sshCommands().length === 0) return;
      heldBack.push(cmd);
      lateSent();
      await otherFinished;
    });
    const common = { cacheDir, protect: [MARKER_FILE] };
    const a = sandbox('aaaaaaaaaaaa');
    const b = sandbox('bbbbbbbbbbbb');
    const syncA = syncRepo({ ...common, session: slow, localDir: repo, remoteDir: a });
    await Promise.race([late, syncA]);
    await syncRepo({
      ...common,
      session: localSession(process.env.PATH ?? ''),
      localDir: other,
      remoteDir: b,
    }).finally(otherDone);
    await syncA;
    expect(heldBack).toEqual([]);
    expect(readFileSync(join(a, 'README.md'), 'utf8')).toBe('# sample\n');
    expect(readFileSync(join(b, 'README.md'), 'utf8')).toBe('# the other branch\n');
  });

  // The copy runs only after the rsync succeeded (`&&`): a cache it left half-updated never reaches
  // the sandbox.
  test('a failed rsync into the cache copies nothing into the sandbox', async () => {
    const cacheDir = join(hostRoot, '.sandboxer-cache', '0123456789abcdef');
    const dir = sandbox('aaaaaaaaaaaa');
    mkdirSync(cacheDir, { recursive: true });
    writeFileSync(join(cacheDir, 'stale.txt'), 'from an earlier sync\n');
    // The remote end of rsync (`rsync --server`) fails; the local one is the real rsync.
    const failBin = join(scratchDir('sbx-failrsync-'), 'bin');
    mkdirSync(failBin);
    const realRsync = spawnSync('/bin/sh', ['-c', 'command -v rsync'], { encoding: 'utf8' }).stdout.trim();
    writeFileSync(
      join(failBin, 'rsync'),
      `#!/bin/sh
case "$1" in --server) echo "no space left on device" >&2; exit 11 ;; esac
exec ${quote(realRsync)} "$@"
`,
    );
    chmodSync(join(failBin, 'rsync'), 0o755);
    vi.stubEnv('PATH', `${failBin}:${process.env.PATH ?? ''}`);
    const session = localSession(process.env.PATH ?? '');
    await expect(syncRepo({ session, localDir: repo, remoteDir: dir, cacheDir })).rejects.toThrow(
      /rsync to .* failed/,
    );
    expect(sshCommands()).toHaveLength(1);
    expect(files(dir)).toEqual([MARKER_FILE]);
  });
});
