import { createHash } from 'node:crypto';
import { posix } from 'node:path';
import { command, quote, remotePathInside } from '../ssh/quote.js';
import type { SyncRequest, TransferCounts } from './request.js';
import { viaRsync } from './rsync.js';

/**
 * The host-side sync cache: the host keeps a copy of each repo (`<base>/.sandboxer-cache/<key>`),
 * so a sandbox's sync sends only what changed since the last one, and fills the sandbox from it.
 */

/**
 * The host's cache of one repo, `<base>/.sandboxer-cache/<key>`: keyed by the repo's absolute path
 * only (a CI checkout's path is the same run after run, so the next run sends only what changed).
 * Two machines with the same path share it as a delta base; rsync --delete keeps it exact either way.
 */
export function cacheDirOf(base: string, repo: string): string {
  return remotePathInside(cacheBaseOf(base), createHash('sha256').update(repo).digest('hex').slice(0, 16));
}

/** Where every repo's cache on the host lives: `<base>/.sandboxer-cache/` (pruned by `gc`). */
export function cacheBaseOf(base: string): string {
  return remotePathInside(base, '.sandboxer-cache');
}

/**
 * The command that starts the next spare copy of the sync cache a sandbox was filled from (see
 * prepareSpareCommand), for its teardown; none if the handle names no cache or one outside this
 * base (a stored handle is data, not a path to trust).
 */
export function nextSpareCommand(base: string, syncCache: string | undefined): string | undefined {
  return syncCache?.startsWith(`${base}/.sandboxer-cache/`) && !syncCache.includes('/../')
    ? prepareSpareCommand(syncCache)
    : undefined;
}

/**
 * rsync into the host's cache of this repo, then fill the sandbox from it on the host. Filling is a
 * rename when a spare copy of the cache is ready (made in the background when the previous sandbox
 * of the repo was torn down, see prepareSpareCommand) plus a local rsync of what changed since;
 * otherwise a full copy.
 */
export async function viaCache(
  request: SyncRequest,
  cacheDir: string,
  overlay = false,
): Promise<TransferCounts> {
  const lock = `${cacheDir}.lock`;
  // One lock from the rsync to the end of the fill (the remote rsync runs inside it), so another
  // create of the same repo can never update the cache between this one's sync and its fill.
  const copy = fillFromCacheScript(cacheDir, request.remoteDir, request.protect ?? []);
  const fill = overlay ? overlayFillScript(cacheDir, request.remoteDir, copy) : copy;
  // The lock's mtime is the cache's last use (pruneCachesCommand reads it); the cache is made again
  // here, privately, in case `gc` pruned it between the probe and this lock.
  const use = `touch -- ${quote(lock)} && (umask 077 && ${command('mkdir', '-p', '--', cacheDir)})`;
  const remote = `flock ${quote(lock)} sh -c ${quote(`${use} && rsync "$@" && ${fill}`)} rsync`;
  // --delete-excluded: what the current filter leaves out must not stay in the cache from an earlier
  // repo or branch at the same path, or a later sandbox would get it.
  return viaRsync({ ...request, remoteDir: cacheDir, deleteExcluded: true }, remote);
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
 * Where a sandbox's overlay layers live: `<base>/.sandboxer-layers/sbx-<id>/` with `lower` (the
 * cache as it was, hard-linked), `upper` (what the sandbox changed) and overlayfs's `work`.
 */
export function layerDirOf(dir: string): string {
  return remotePathInside(posix.join(posix.dirname(dir), '.sandboxer-layers'), posix.basename(dir));
}

/** Paths overlayfs's mount options can take as they are (they are split at `,` and `:`). */
const MOUNTABLE = /^[A-Za-z0-9_./@+-]+$/;

/**
 * Shell (under the cache's lock, after rsync updated the cache) that makes `dir` the cache without
 * copying a byte: `lower` is a hard-link snapshot of the cache (metadata only; rsync replaces a
 * changed file by renaming a new one into the cache, so the snapshot keeps what it had), mounted as
 * overlayfs's read-only lower layer at `dir`, whose existing files (the marker) are copied into the
 * upper layer. The sandbox writes only to `upper`: nothing it does reaches the cache, and the lower
 * layer is never visible as hard links (overlayfs copies a file up before any change, metadata
 * included). Any step failing (no mount permission in a container) falls back to `copy`.
 */
export function overlayFillScript(cacheDir: string, dir: string, copy: string): string {
  const layer = layerDirOf(dir);
  if (![cacheDir, dir, layer].every((path) => MOUNTABLE.test(path))) return copy;
  const options = `lowerdir=${layer}/lower,upperdir=${layer}/upper,workdir=${layer}/work`;
  const mount = [
    command('mkdir', '-p', '--', `${layer}/upper`, `${layer}/work`),
    command('cp', '-al', '--', cacheDir, `${layer}/lower`),
    command('cp', '-a', '--', `${dir}/.`, `${layer}/upper/`),
    command('mount', '-t', 'overlay', 'overlay', '-o', options, dir),
  ].join(' && ');
  // Which one ran goes to stderr (stdout is rsync's protocol stream), read back by viaRsync.
  const said = (fill: string) => `echo 'sandboxer-fill: ${fill}' >&2`;
  return `{ { ${mount}; } 2>/dev/null && ${said('overlay')} || { rm -rf -- ${quote(layer)}; ${copy} && ${said('copy')}; }; }`;
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
