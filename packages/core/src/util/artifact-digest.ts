import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { sha256File } from './sha256-file.js';
import { FOOTER_BYTES, indexDigest, indexLengthOf, parseSnapshotIndex } from './snapshot-index.js';

/**
 * What a local artifact's recorded sha256 is checked against, in one read of the file: format 1, the
 * sha256 of the file; format 2 (util/snapshot-index.ts), the sha256 of its index, once every member
 * was found to hash to what the index says. `problem` names what does not match inside a format 2
 * artifact (its digest may still be right: only a member's bytes changed).
 */
export async function artifactDigest(path: string): Promise<{ digest: string; problem?: string }> {
  const index = await readIndex(path);
  if (index === undefined) return { digest: await sha256File(path) };
  const digest = indexDigest(index);
  const members = parseSnapshotIndex(index);
  if (typeof members === 'string') return { digest, problem: members };
  for (const member of members) {
    const hash = createHash('sha256');
    if (member.size > 0) {
      const range = { start: member.offset, end: member.offset + member.size - 1 };
      for await (const chunk of createReadStream(path, range)) hash.update(chunk as Buffer);
    }
    if (hash.digest('hex') !== member.sha256) return { digest, problem: `member ${member.name} is corrupt` };
  }
  return { digest };
}

/** A format 2 artifact's index text, or undefined when the file does not end with its footer. */
async function readIndex(path: string): Promise<string | undefined> {
  const file = await open(path, 'r');
  try {
    const { size } = await file.stat();
    if (size < FOOTER_BYTES) return undefined;
    const footer = Buffer.alloc(FOOTER_BYTES);
    await file.read(footer, 0, FOOTER_BYTES, size - FOOTER_BYTES);
    const length = indexLengthOf(footer.toString('latin1'));
    if (length === undefined || length > size - FOOTER_BYTES) return undefined;
    const index = Buffer.alloc(length);
    await file.read(index, 0, length, size - FOOTER_BYTES - length);
    return index.toString('latin1');
  } finally {
    await file.close();
  }
}
