import type { SshSession } from '../../../ssh/session.js';
import { cacheDirOf } from '../../../sync/host-cache.js';
import { probeHost } from '../../../sync/host-probe.js';
import type { HostTools, SyncMethod, SyncReport } from '../../../sync/request.js';
import { syncRepo } from '../../../sync/sync-repo.js';
import { MARKER_FILE } from './workspace.js';

/** Filling a sandbox directory with the local repo, for SSH-based extensions. */

/** A sync whose host probe has started (see startSync). */
export interface StartedSync {
  cacheDir: string | undefined;
  tools: Promise<HostTools>;
}

/**
 * Starts what a sync can do before the sandbox directory exists — asking the host for rsync and
 * flock, making the repo's cache directory under `cacheBase` — so it runs alongside createWorkspace.
 */
export function startSync(
  session: SshSession,
  repo: string,
  method: SyncMethod,
  cacheBase?: string,
): StartedSync {
  const cacheDir = cacheBase ? cacheDirOf(cacheBase, repo) : undefined;
  return { cacheDir, tools: probeHost(session, method, cacheDir) };
}

/** Syncs a local repo into the workspace (rsync, through the host's cache of it, or tar), never deleting the marker. */
export async function syncWorkspace(
  session: SshSession,
  repo: string,
  dir: string,
  method: SyncMethod,
  progress: ((message: string) => void) | undefined,
  started: StartedSync,
): Promise<SyncReport> {
  return syncRepo({
    ...(started.cacheDir ? { cacheDir: started.cacheDir } : {}),
    tools: started.tools,
    session,
    localDir: repo,
    remoteDir: dir,
    method,
    protect: [MARKER_FILE],
    progress,
  });
}
