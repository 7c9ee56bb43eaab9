import { viaCache } from './host-cache.js';
import { probeHost } from './host-probe.js';
import type { SyncReport, SyncRequest } from './request.js';
import { stopRsyncs, viaRsync } from './rsync.js';
import { removeAllScratchDirs } from './scratch.js';
import { viaTar } from './tar.js';

/**
 * Kills any rsync this process started and deletes the scratch directories holding key copies, at
 * once and synchronously: used when a step is cancelled and is about to exit without `finally`.
 */
export function stopRunningSyncs(): void {
  stopRsyncs();
  removeAllScratchDirs();
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
  const overlay = useCache && tools.overlay === true;
  const counts = useCache
    ? await viaCache(request, request.cacheDir as string, overlay)
    : useRsync
      ? await viaRsync(request)
      : await viaTar(request);
  const report: SyncReport = {
    method: useCache ? 'rsync via cache' : useRsync ? 'rsync' : 'tar',
    ...(useCache ? { fill: 'copy' as const } : {}),
    ...counts,
    seconds: (Date.now() - started) / 1000,
  };
  request.progress?.(
    `synced ${report.files} files, ${report.bytes} bytes sent in ${report.seconds.toFixed(1)} s${report.fill ? ` (filled from the cache ${report.fill === 'overlay' ? 'as an overlay layer, nothing copied' : 'by copy'})` : ''}`,
  );
  return report;
}
