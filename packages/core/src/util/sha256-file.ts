import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';

/** The sha256 of a local file, hex, streamed (artifacts can be large). */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
