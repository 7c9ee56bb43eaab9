import { createHash } from 'node:crypto';

/**
 * Format 2 of a snapshot artifact: its members written one after another as they are streamed (the
 * manifest, the workspace's tar, each volume's `docker cp` tar), then an index, then a fixed-size
 * footer that says how long the index is. Nothing is staged or repacked, because an outer tar would
 * need each member's size before its bytes; here sizes are learnt as the bytes go by and written last.
 *
 * The index is text, one line per member (`<name> <offset> <size> <sha256>`) after a header line. A
 * snapshot's recorded sha256 is the sha256 of this index: it pins every member's checksum, so a
 * reader can check each member while it consumes it (one read) instead of hashing the file first.
 * Format 1 (one tar: `manifest.json`, `workspace.tar`, `volumes/<key>.tar`; sha256 of the whole
 * file) ends with tar's zero blocks, never with the footer, which is how the two are told apart.
 */

export const INDEX_HEADER = 'sandboxer-snapshot 2';
/** `sandboxer-index <15-digit index length>\n`: 32 bytes at the very end of a format 2 artifact. */
export const FOOTER_PREFIX = 'sandboxer-index ';
export const FOOTER_BYTES = 32;
const FOOTER = new RegExp(`^${FOOTER_PREFIX}(\\d{15})\n$`);

/** One member of a format 2 artifact, where it lies and what it hashes to. */
export interface IndexMember {
  name: string;
  offset: number;
  size: number;
  sha256: string;
}

const MEMBER_NAME = /^(manifest\.json|workspace\.tar|volumes\/[A-Za-z0-9][A-Za-z0-9_.-]*\.tar)$/;
const LINE = /^(\S+) (\d{1,15}) (\d{1,15}) ([0-9a-f]{64})$/;

/**
 * Parses an index's text, or returns a reason it is not one: the names are those a capture writes,
 * the members follow each other from offset 0. The caller checks the text's digest first.
 */
export function parseSnapshotIndex(text: string): IndexMember[] | string {
  const lines = text.split('\n');
  if (lines[0] !== INDEX_HEADER) return `its index does not start with "${INDEX_HEADER}"`;
  if (lines.at(-1) !== '') return 'its index does not end with a newline';
  const members: IndexMember[] = [];
  let next = 0;
  for (const line of lines.slice(1, -1)) {
    const m = LINE.exec(line);
    if (!m || !MEMBER_NAME.test(m[1] as string)) return `unexpected index line ${JSON.stringify(line)}`;
    const member = { name: m[1] as string, offset: Number(m[2]), size: Number(m[3]), sha256: m[4] as string };
    if (member.offset !== next) return `member ${member.name} is not where the previous one ends`;
    next += member.size;
    members.push(member);
  }
  return members;
}

/** The digest a format 2 snapshot records: the sha256 of its index's text. */
export function indexDigest(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/** The index length a footer states, or undefined when these bytes are not a footer (a format 1 tar). */
export function indexLengthOf(footer: string): number | undefined {
  const m = FOOTER.exec(footer);
  return m ? Number(m[1]) : undefined;
}
