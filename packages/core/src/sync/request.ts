import type { SshSession } from '../ssh/session.js';

/** What one sync of a local repo into a host directory needs, whichever strategy runs it. */

export type SyncMethod = 'auto' | 'rsync' | 'tar';

export interface SyncRequest {
  /** The open connection to the host: the tar stream and rsync's own protocol both run over it. */
  session: SshSession;
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
  /**
   * Also delete what the filter leaves out from `remoteDir` (the cache: files a later filter ignores
   * must not stay in it, or the next sandbox of the same path would get them).
   */
  deleteExcluded?: boolean;
  /** probeHost's answer, when the caller started it earlier (else syncRepo asks). */
  tools?: Promise<HostTools>;
  progress?: (message: string) => void;
}

/** What a strategy moved. */
export interface TransferCounts {
  files: number;
  bytes: number;
  /** How the host's cache filled the sandbox, as the fill reported it. */
  fill?: 'copy' | 'overlay';
}

export interface SyncReport {
  method: 'rsync' | 'rsync via cache' | 'tar';
  /** How the cache filled the sandbox: a copy (a spare moved in, or `cp -a`), or an overlay layer. */
  fill?: 'copy' | 'overlay';
  files: number;
  bytes: number;
  seconds: number;
}

/** What the host offers a sync (one round trip): see probeHost. */
export interface HostTools {
  rsync: boolean;
  /** `flock`, and the cache directory made: the cache can be used. */
  cache: boolean;
  /** A root login and a kernel with overlayfs: the cache can fill a sandbox as an overlay layer. */
  overlay?: boolean;
}
