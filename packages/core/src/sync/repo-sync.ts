import { type ChildProcess, type ExecFileException, execFile, spawnSync } from 'node:child_process';
import { lstatSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import { Transform } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { ProvisionError } from '../errors.js';
import { knownHostsLine } from '../ssh/known-hosts.js';
import { and, command, quote } from '../ssh/quote.js';
import type { SshSession } from '../ssh/session.js';
import type { SshTarget } from '../ssh/target.js';
import { loadRepoIgnore } from './ignore-rules.js';
import { parseRsyncStats, rsyncArgs, rsyncFilterRules } from './rsync-args.js';

export type SyncMethod = 'auto' | 'rsync' | 'tar';

export interface SyncRequest {
  session: SshSession;
  target: SshTarget;
  /** Private key text; needed by rsync's own ssh. Written to a private temp file, removed after. */
  privateKey: string;
  localDir: string;
  /** Must already exist. */
  remoteDir: string;
  method?: SyncMethod;
  /** Files in `remoteDir` (relative names) that sync must never delete, e.g. the sandbox marker. */
  protect?: string[];
  /**
   * A per-repo cache directory on the host: rsync updates it (sending only what changed since the
   * last sandbox of this repo), then the host copies it into `remoteDir` (a real copy, never hard
   * links, so a sandbox cannot change the cache). Both under `flock`, so concurrent creates of one
   * repo take turns. Used with rsync only, when the host has `flock`.
   */
  cacheDir?: string;
  /** probeHost's answer, when the caller started it earlier (else syncRepo asks). */
  tools?: Promise<HostTools>;
  progress?: (message: string) => void;
}

export interface SyncReport {
  method: 'rsync' | 'rsync via cache' | 'tar';
  files: number;
  bytes: number;
  seconds: number;
}

/** What rsync's exit codes mean (rsync(1), EXIT VALUES), for when its message is lost. */
const RSYNC_EXIT: Record<number, string> = {
  5: 'error starting the client-server protocol',
  10: 'error in socket I/O (the connection dropped?)',
  11: "error in file I/O (is the host's disk full?)",
  12: 'error in the rsync protocol data stream (the connection dropped?)',
  23: 'partial transfer due to an error',
  30: 'timeout in data send/receive',
  255: 'ssh failed',
};

/** rsync processes running now, so a cancelled caller can stop them before it exits. */
const running = new Set<ChildProcess>();

/** Private scratch directories (they hold a copy of the key) that exist right now. */
const scratchDirs = new Set<string>();

/**
 * Kills any rsync this process started and deletes the scratch directories holding key copies, at
 * once and synchronously: used when a step is cancelled and is about to exit without `finally`.
 */
export function stopRunningSyncs(): void {
  for (const child of running) child.kill('SIGTERM');
  for (const dir of scratchDirs) rmSync(dir, { recursive: true, force: true });
  scratchDirs.clear();
}
process.on('exit', () => {
  for (const dir of scratchDirs) rmSync(dir, { recursive: true, force: true });
});

let localRsync: boolean | undefined;
function hasLocalRsync(): boolean {
  localRsync ??= spawnSync('rsync', ['--version'], { stdio: 'ignore' }).status === 0;
  return localRsync;
}

/** What the host offers a sync (one round trip): see probeHost. */
export interface HostTools {
  rsync: boolean;
  /** `flock`, and the cache directory made: the cache can be used. */
  cache: boolean;
}

/**
 * Asks the host whether it has rsync (and flock, for the cache), and makes the cache's directory
 * when it can be used — in one round trip, which needs nothing from the sandbox directory, so a
 * caller may start it while that directory is being made. Never rejects before it is awaited.
 */
export function probeHost(
  session: SshSession,
  method: SyncMethod,
  cacheDir: string | undefined,
): Promise<HostTools> {
  if (method === 'tar' || !hasLocalRsync()) return Promise.resolve({ rsync: false, cache: false });
  // The base first, with the login's umask (it may not exist yet, and createWorkspace makes it at
  // the same time): only the cache below it is private.
  const makeCache = cacheDir
    ? ` && ${command('mkdir', '-p', '--', posix.dirname(posix.dirname(cacheDir)))} && (umask 077 && ${command('mkdir', '-p', '--', cacheDir)}) && echo cache`
    : '';
  const probe = session
    .exec(
      `command -v rsync >/dev/null && echo rsync && command -v flock >/dev/null && echo flock${makeCache}`,
      {
        what: 'looking for rsync',
      },
    )
    .then(({ stdout, stderr }) => {
      const found = new Set(stdout.split('\n'));
      if (found.has('flock') && cacheDir && !found.has('cache')) {
        throw new ProvisionError(
          `preparing the sync cache ${cacheDir} on ${session.destination} failed: ${stderr.trim()}`,
        );
      }
      return { rsync: found.has('rsync'), cache: found.has('cache') };
    });
  probe.catch(() => {}); // its rejection is the awaiting caller's to handle
  return probe;
}

/**
 * Copies the repo to the host without `.git`, `node_modules` and `.sandboxerignore` matches:
 * rsync over SSH when both ends have it (delta transfer), else a gzipped tar stream over the SSH
 * connection that is already open. Reports files and bytes sent.
 */
export async function syncRepo(request: SyncRequest): Promise<SyncReport> {
  const started = Date.now();
  const method = request.method ?? 'auto';
  const tools = await (request.tools ?? probeHost(request.session, method, request.cacheDir));
  const useRsync = method === 'rsync' || (method === 'auto' && tools.rsync);
  const useCache = useRsync && request.cacheDir !== undefined && tools.cache;
  request.progress?.(
    `syncing ${request.localDir} to ${request.remoteDir} with ${useCache ? `rsync via the host's cache ${request.cacheDir}` : useRsync ? 'rsync' : 'tar over ssh'}`,
  );
  const counts = useCache
    ? await viaCache(request, request.cacheDir as string)
    : useRsync
      ? await viaRsync(request)
      : await viaTar(request);
  const report: SyncReport = {
    method: useCache ? 'rsync via cache' : useRsync ? 'rsync' : 'tar',
    ...counts,
    seconds: (Date.now() - started) / 1000,
  };
  request.progress?.(
    `synced ${report.files} files, ${report.bytes} bytes sent in ${report.seconds.toFixed(1)} s`,
  );
  return report;
}

/**
 * rsync into the host's cache of this repo, then fill the sandbox from it on the host. Filling is a
 * rename when a spare copy of the cache is ready (made in the background when the previous sandbox
 * of the repo was torn down, see prepareSpareCommand) plus a local rsync of what changed since;
 * otherwise a full copy.
 */
async function viaCache(request: SyncRequest, cacheDir: string): Promise<{ files: number; bytes: number }> {
  const lock = `${cacheDir}.lock`;
  // One lock from the rsync to the end of the fill (the remote rsync runs inside it), so another
  // create of the same repo can never update the cache between this one's sync and its fill.
  const fill = fillFromCacheScript(cacheDir, request.remoteDir, request.protect ?? []);
  // The lock's mtime is the cache's last use (pruneCachesCommand reads it); the cache is made again
  // here, privately, in case `gc` pruned it between the probe and this lock.
  const use = `touch -- ${quote(lock)} && (umask 077 && ${command('mkdir', '-p', '--', cacheDir)})`;
  const remote = `flock ${quote(lock)} sh -c ${quote(`${use} && rsync "$@" && ${fill}`)} rsync`;
  return viaRsync({ ...request, remoteDir: cacheDir }, remote);
}

/** Where the ready spare copy of a cache lives, and the prefix of where each copy is made. */
export const spareOf = (cacheDir: string) => ({
  ready: `${cacheDir}.spare`,
  making: `${cacheDir}.spare-tmp`,
});

/**
 * Shell (run under the cache's lock, after rsync updated the cache) that makes `dir` an exact copy of
 * the cache. With a spare: move its top-level entries into `dir` (renames, however big the repo),
 * then a local `rsync --delete` brings them up to date with the cache — cheap, only what changed
 * since the spare was made, and exact even if the spare were stale. Without one: `cp -a`, where
 * --reflink=auto clones on a copy-on-write filesystem (XFS, btrfs). Never hard links: nothing a
 * sandbox does to its files can reach the cache or a spare.
 */
export function fillFromCacheScript(cacheDir: string, dir: string, protect: string[]): string {
  const spare = quote(spareOf(cacheDir).ready);
  const protectRules = protect.flatMap((name) => ['--filter', `P /${name}`]);
  const entries = ['/*', '/.[!.]*', '/..?*'].map((glob) => `${spare}${glob}`).join(' ');
  return [
    `if [ -d ${spare} ]; then`,
    // Each entry is renamed to a name that does not exist yet (mv into an existing directory would
    // nest it); a clash cannot happen in a fresh sandbox dir, and if it did, rsync below copies it.
    `for f in ${entries}; do [ -e "$f" ] || [ -L "$f" ] || continue; t=${quote(dir)}/"\${f##*/}";`,
    `if [ -e "$t" ] || [ -L "$t" ]; then rm -rf -- "$f"; else mv -- "$f" "$t" || exit; fi; done`,
    `&& rmdir -- ${spare}`,
    `&& ${command('rsync', '-a', '--delete', ...protectRules, '--', `${cacheDir}/`, `${dir}/`)} >/dev/null;`,
    `else ${command('cp', '-a', '--reflink=auto', '--', `${cacheDir}/.`, `${dir}/`)}; fi`,
  ].join(' ');
}

/**
 * Starts making the next spare copy of the cache, detached (it outlives this SSH session). The copy
 * is made without the cache's lock, under a name of its own (`<key>.spare-tmp.<pid>`), so a create
 * of the same repo never waits for it (rsync would time out after 60 s of silence); only the rename
 * into place is locked, and a half-made copy is never used. A create's rsync may update the cache
 * meanwhile: the spare can be a mix of old and new files, which the fill's `rsync --delete` makes
 * exact. Copies older than an hour (their job was killed) are removed by the next one.
 * Teardown starts it: the copy then happens while the host is quiet, not while the next create
 * (or the sandbox's own `compose up`) wants the disk.
 */
export function prepareSpareCommand(cacheDir: string): string {
  const { ready, making } = spareOf(cacheDir);
  const stale = command(
    'find',
    posix.dirname(cacheDir),
    '-maxdepth',
    '1',
    '-name',
    `${posix.basename(making)}.*`,
    '-mmin',
    '+60',
    '-exec',
    'rm',
    '-rf',
    '--',
    '{}',
    '+',
  );
  const place = command(
    'flock',
    `${cacheDir}.lock`,
    'sh',
    '-c',
    `[ -e ${quote(ready)} ] || mv -- "$0" ${quote(ready)}`,
  );
  const make = [
    `${stale} 2>/dev/null`,
    `t=${quote(making)}.$$`,
    `if ${command('nice', 'cp', '-a', '--reflink=auto', '--', cacheDir)} "$t"; then ${place} "$t"; fi`,
    'rm -rf -- "$t"',
  ].join('; ');
  return `[ -e ${quote(ready)} ] || [ ! -d ${quote(cacheDir)} ] || (nohup setsid sh -c ${quote(make)} </dev/null >/dev/null 2>&1 &)`;
}

/** What pruneCachesCommand prints per cache: `<result> <key> <last use, epoch s> <size, KiB>`. */
export type CachePruneResult = 'removed' | 'in-use' | 'failed' | 'dry-run';

/**
 * Removes the sync caches under `cacheBase` (`<base>/.sandboxer-cache`) unused for more than
 * `minutes`: the cache, its spare and any spare in the making. A cache's last use is its lock's
 * mtime (every sync touches it under the lock), else its directory's. Each is removed under its own
 * lock taken with `flock -n` and checked again there, so a create using it (or starting to) wins
 * and the cache is reported `in-use`. The lock file stays: deleting a lock file someone may be
 * waiting on would let two creates hold "the" lock at once. Prints one line per old cache.
 */
export function pruneCachesCommand(cacheBase: string, minutes: number, dryRun: boolean): string {
  if (!Number.isInteger(minutes) || minutes < 0) throw new Error(`not a number of minutes: ${minutes}`);
  const old = `[ -n "$(find "$u" -maxdepth 0 -mmin +${minutes} 2>/dev/null)" ]`;
  const remove = quote(
    `[ -n "$(find "$1" -maxdepth 0 -mmin +${minutes} 2>/dev/null)" ] || exit 75; rm -rf -- "$0" "$0".spare "$0".spare-tmp.* || exit 4`,
  );
  return [
    `cd ${quote(cacheBase)} 2>/dev/null || exit 0`,
    'seen=" "',
    'for e in *; do',
    // Only names this code makes: 16 hex digits, then .lock, .spare or .spare-tmp.<pid>.
    `  k=\${e%%.*}; case "$k" in *[!0-9a-f]*) continue;; esac; [ \${#k} -eq 16 ] || continue`,
    '  case "$seen" in *" $k "*) continue;; esac; seen="$seen$k "',
    '  if [ -e "$k.lock" ]; then u="$k.lock"; elif [ -e "$k" ]; then u="$k"; else u="$e"; fi',
    `  ${old} || continue`,
    `  t=$(stat -c %Y -- "$u"); z=$(du -sk -- "$k" "$k".spare "$k".spare-tmp.* 2>/dev/null | awk '{ s += $1 } END { print s + 0 }')`,
    dryRun
      ? '  echo "dry-run $k $t $z"'
      : `  flock -n -E 75 "$k.lock" sh -c ${remove} "$k" "$u"; case $? in 0) r=removed;; 75) r=in-use;; *) r=failed;; esac; echo "$r $k $t $z"`,
    'done',
  ].join('\n');
}

/** One line of pruneCachesCommand's output. */
export interface PrunedCache {
  key: string;
  result: CachePruneResult;
  lastUsed: Date;
  sizeKiB: number;
}

export function parsePrunedCaches(output: string): PrunedCache[] {
  const found: PrunedCache[] = [];
  for (const line of output.split('\n')) {
    const match = /^(removed|in-use|failed|dry-run) ([0-9a-f]{16}) (\d+) (\d+)$/.exec(line.trim());
    if (!match) continue;
    found.push({
      result: match[1] as CachePruneResult,
      key: match[2] as string,
      lastUsed: new Date(Number(match[3]) * 1000),
      sizeKiB: Number(match[4]),
    });
  }
  return found;
}

/** RUNNER_TEMP (emptied after every job) rather than a shared /tmp. */
function tempRoot(): string {
  return process.env.RUNNER_TEMP || tmpdir();
}

/**
 * Where key scratch directories go: this user's own `sandboxer-scratch-<uid>/` under the temp root,
 * so that sweeping them reads a directory of a few entries, not a long-lived /tmp (33,000 entries on
 * the testbed made every rsync spend 0.27 s of CPU listing it). Not used unless it is a real
 * directory of this user, mode 0700 (in a shared /tmp someone else could have made it first): the
 * key copies then go into the temp root itself, as before.
 */
function scratchParent(): string | undefined {
  const dir = join(tempRoot(), `sandboxer-scratch-${process.getuid?.() ?? 'user'}`);
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const stat = lstatSync(dir);
    const own = stat.isDirectory() && (!process.getuid || stat.uid === process.getuid());
    return own && (stat.mode & 0o077) === 0 ? dir : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Removes key scratch directories whose process is gone (a create killed with SIGKILL mid-rsync
 * cannot clean up after itself): the name carries the pid that made it. Run before every rsync and
 * by gc (which also looks in the temp root itself, where versions before the scratch parent put
 * them), so a key copy outlives its process only until the next sand-boxer run on this machine.
 */
export function sweepStaleScratch(
  parent = scratchParent() ?? tempRoot(),
  options: { legacy?: boolean } = {},
): string[] {
  const removed = options.legacy && parent !== tempRoot() ? sweepStaleScratch(tempRoot()) : [];
  let names: string[];
  try {
    names = readdirSync(parent);
  } catch {
    return removed;
  }
  for (const name of names) {
    const pid = /^sandboxer-sync-(\d+)-/.exec(name)?.[1];
    if (!pid || isAlive(Number(pid))) continue;
    rmSync(join(parent, name), { recursive: true, force: true });
    removed.push(join(parent, name));
  }
  return removed;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function viaRsync(request: SyncRequest, rsyncPath?: string): Promise<{ files: number; bytes: number }> {
  const { target, session } = request;
  sweepStaleScratch();
  const scratch = mkdtempSync(join(scratchParent() ?? tempRoot(), `sandboxer-sync-${process.pid}-`));
  scratchDirs.add(scratch);
  try {
    const keyFile = join(scratch, 'key');
    writeFileSync(
      keyFile,
      request.privateKey.endsWith('\n') ? request.privateKey : `${request.privateKey}\n`,
      { mode: 0o600 },
    );
    const knownHostsFile = join(scratch, 'known_hosts');
    writeFileSync(knownHostsFile, `${knownHostsLine(target.address, target.port, session.hostKey)}\n`, {
      mode: 0o600,
    });
    const filterFile = join(scratch, 'filter');
    // Protected files are neither deleted nor overwritten: a repo file of the same name is left out.
    const protect = (request.protect ?? []).flatMap((name) => [`P /${name}`, `- /${name}`]);
    const rules = [...protect, ...rsyncFilterRules(loadRepoIgnore(request.localDir).patterns)];
    writeFileSync(filterFile, `${rules.join('\n')}\n`);
    const args = rsyncArgs({
      localDir: request.localDir,
      remoteDir: request.remoteDir,
      user: target.user,
      address: target.address,
      port: target.port,
      keyFile,
      knownHostsFile,
      filterFile,
      connectTimeoutSeconds: 10,
      ...(rsyncPath ? { rsyncPath } : {}),
    });
    let output: string;
    for (let attempt = 1; ; attempt++) {
      const result = await runRsync(args);
      if (!result.error) {
        output = result.stdout;
        break;
      }
      // sshd drops connections beyond its MaxStartups before the key exchange (many creates on one
      // host at once): nothing was sent yet, so trying again is safe.
      if (attempt < RSYNC_ATTEMPTS && droppedBeforeHandshake(result.stderr)) {
        await sleep(150 * attempt + Math.random() * 250);
        continue;
      }
      const tail = result.stderr.trim().split('\n').slice(-10).join('\n');
      // rsync's own text does not always reach us (a dead connection): its exit code still says what broke.
      const code = result.error.code;
      const meaning = RSYNC_EXIT[Number(code)];
      throw new ProvisionError(
        `rsync to ${session.destination} failed (exit ${code}${meaning ? `: ${meaning}` : ''})${tail ? `: ${tail}` : ''}`,
      );
    }
    return parseRsyncStats(output);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
    scratchDirs.delete(scratch);
  }
}

/** How many times rsync is started when its connection is dropped before the key exchange. */
const RSYNC_ATTEMPTS = 3;

/** rsync's ssh was closed by the host before the key exchange: nothing ran, nothing was sent. */
export function droppedBeforeHandshake(stderr: string): boolean {
  return (
    /kex_exchange_identification: (Connection closed by remote host|read: Connection reset by peer)/.test(
      stderr,
    ) && /\(0 bytes received so far\)/.test(stderr)
  );
}

function runRsync(args: string[]): Promise<{ stdout: string; stderr: string; error?: ExecFileException }> {
  return new Promise((resolve) => {
    // LC_ALL=C: --stats numbers are grouped by locale, and we parse them.
    const options = { maxBuffer: 4 * 1024 * 1024, env: { ...process.env, LC_ALL: 'C' } };
    const child = execFile('rsync', args, options, (error, stdout, stderr) => {
      running.delete(child);
      resolve({ stdout, stderr, ...(error ? { error } : {}) });
    });
    running.add(child);
  });
}

async function viaTar(request: SyncRequest): Promise<{ files: number; bytes: number }> {
  const rules = loadRepoIgnore(request.localDir);
  let files = 0;
  let bytes = 0;
  const { create: createTar } = await import('tar');
  const tarStream = createTar(
    {
      cwd: request.localDir,
      gzip: true,
      portable: true,
      filter: (path, stat) => {
        const relative = path.replace(/^\.\//, '');
        const keep =
          !rules.ignores(join(request.localDir, path)) && !(request.protect ?? []).includes(relative);
        if (keep && 'isFile' in stat && stat.isFile()) files += 1;
        return keep;
      },
    },
    ['.'],
  );
  const counter = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      bytes += chunk.length;
      done(null, chunk);
    },
  });
  await request.session.run(and(command('tar', '-xzf', '-', '-C', request.remoteDir)), {
    stdin: tarStream.pipe(counter),
    what: 'unpacking the repo (tar)',
    timeoutMs: 600_000,
  });
  return { files, bytes };
}
