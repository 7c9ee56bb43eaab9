import { spawnSync } from 'node:child_process';
import { posix } from 'node:path';
import { ProvisionError } from '../errors.js';
import { command } from '../ssh/quote.js';
import type { SshSession } from '../ssh/session.js';
import type { HostTools, SyncMethod } from './request.js';

let localRsync: boolean | undefined;
function hasLocalRsync(): boolean {
  localRsync ??= spawnSync('rsync', ['--version'], { stdio: 'ignore' }).status === 0;
  return localRsync;
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
  if (method === 'tar' || !hasLocalRsync())
    return Promise.resolve({ rsync: false, cache: false, overlay: false });
  // The base first, with the login's umask (it may not exist yet, and createWorkspace makes it at
  // the same time): only the cache below it is private.
  const makeCache = cacheDir
    ? ` && ${command('mkdir', '-p', '--', posix.dirname(posix.dirname(cacheDir)))} && (umask 077 && ${command('mkdir', '-p', '--', cacheDir)}) && echo cache`
    : '';
  // A root login on a host whose kernel has overlayfs fills sandboxes from the cache without copying
  // (host-cache.ts overlayFillScript); asked here, in the same round trip.
  const overlay = `{ [ "$(id -u)" != 0 ] || ! grep -qw overlay /proc/filesystems || echo overlay; }; `;
  const probe = session
    .exec(
      `${overlay}command -v rsync >/dev/null && echo rsync && command -v flock >/dev/null && echo flock${makeCache}`,
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
      return { rsync: found.has('rsync'), cache: found.has('cache'), overlay: found.has('overlay') };
    });
  probe.catch(() => {}); // its rejection is the awaiting caller's to handle
  return probe;
}
