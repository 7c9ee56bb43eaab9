import { join } from 'node:path';
import { Transform } from 'node:stream';
import { and, command } from '../ssh/quote.js';
import { loadRepoIgnore } from './ignore-rules.js';
import type { SyncRequest, TransferCounts } from './request.js';

/** A gzipped tar stream over the session that is already open (no rsync on one end). */
export async function viaTar(request: SyncRequest): Promise<TransferCounts> {
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
