import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { SnapshotCorruptError } from '../../src/errors.js';
import { verifyLocalArtifact } from '../../src/snapshots/artifact.js';
import { artifactDigest } from '../../src/util/artifact-digest.js';
import { sha256File } from '../../src/util/sha256-file.js';
import { INDEX_HEADER, indexDigest, parseSnapshotIndex } from '../../src/util/snapshot-index.js';
import { tempDir } from '../support/fixtures.js';

const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

/** A format 2 artifact as captureScript writes it: members, index, footer. */
function format2(members: Array<[string, string]>): { bytes: Buffer; index: string } {
  let offset = 0;
  const lines = members.map(([name, body]) => {
    const line = `${name} ${offset} ${Buffer.byteLength(body)} ${sha(body)}`;
    offset += Buffer.byteLength(body);
    return line;
  });
  const index = `${INDEX_HEADER}\n${lines.join('\n')}\n`;
  const footer = `sandboxer-index ${String(index.length).padStart(15, '0')}\n`;
  return { bytes: Buffer.from(members.map(([, b]) => b).join('') + index + footer), index };
}

const MEMBERS: Array<[string, string]> = [
  ['manifest.json', '{"format":2}\n'],
  ['workspace.tar', 'w'.repeat(3000)],
  ['volumes/data.tar', 'd'.repeat(5000)],
];

describe('artifactDigest and verifyLocalArtifact, both formats', () => {
  test('format 2: the digest is the index’s, once every member matches', async () => {
    const { bytes, index } = format2(MEMBERS);
    const file = join(tempDir(), 'a.tar');
    writeFileSync(file, bytes);
    expect(await artifactDigest(file)).toEqual({ digest: indexDigest(index) });
    await verifyLocalArtifact(file, indexDigest(index), 'snap-x');
  });

  test('format 2 with a member changed: the digest still matches, the member is named', async () => {
    const { bytes, index } = format2(MEMBERS);
    bytes[4000] = 'x'.charCodeAt(0);
    const file = join(tempDir(), 'a.tar');
    writeFileSync(file, bytes);
    expect(await artifactDigest(file)).toEqual({
      digest: indexDigest(index),
      problem: 'member volumes/data.tar is corrupt',
    });
    const error = await verifyLocalArtifact(file, indexDigest(index), 'snap-x').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SnapshotCorruptError);
    expect((error as Error).message).toBe(
      `snapshot snap-x: local copy ${file} is corrupt (member volumes/data.tar is corrupt); nothing was restored`,
    );
  });

  test('format 1 (no footer): the sha256 of the whole file', async () => {
    const file = join(tempDir(), 'old.tar');
    writeFileSync(file, Buffer.alloc(2048, 0));
    expect(await artifactDigest(file)).toEqual({ digest: await sha256File(file) });
  });

  test.each([
    ['no header', `x\nmanifest.json 0 1 ${'a'.repeat(64)}\n`, /does not start/],
    ['no trailing newline', `${INDEX_HEADER}\nmanifest.json 0 1 ${'a'.repeat(64)}`, /newline/],
    ['an unexpected name', `${INDEX_HEADER}\n../etc 0 1 ${'a'.repeat(64)}\n`, /unexpected index line/],
    ['a hostile name', `${INDEX_HEADER}\nvolumes/$(id).tar 0 1 ${'a'.repeat(64)}\n`, /unexpected/],
    [
      'a gap',
      `${INDEX_HEADER}\nmanifest.json 0 1 ${'a'.repeat(64)}\nworkspace.tar 2 1 ${'a'.repeat(64)}\n`,
      /not where the previous one ends/,
    ],
  ])('parseSnapshotIndex refuses %s', (_n, text, reason) => {
    expect(parseSnapshotIndex(text)).toMatch(reason);
  });
});
