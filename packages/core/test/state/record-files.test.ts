import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { InputError, NotFoundError, StateCorruptError } from '../../src/errors.js';
import { type SandboxRecord, sandboxRecordSchema } from '../../src/records/sandbox.js';
import { FileStateStore } from '../../src/state/file-store.js';
import { getRecord, listRecords } from '../../src/state/lookup.js';
import { byCreation, FileRecordReader } from '../../src/state/record-files.js';
import { RECORD_FORMAT } from '../../src/state/record-format.generated.js';
import { newSandboxId } from '../../src/util/ids.js';
import { sandboxRecord, tempDir } from '../support/fixtures.js';

const record = sandboxRecord;

/** A home with records written by the real store, so the reader is checked against what it writes. */
async function homeWith(records: SandboxRecord[]): Promise<{ home: string; store: FileStateStore }> {
  const home = tempDir();
  const store = new FileStateStore(home);
  for (const r of records) await store.putSandbox(r);
  return { home, store };
}

describe('FileRecordReader: the read-only path of list and status', () => {
  test('reads what the store wrote: the same records, in the same order', async () => {
    const at = (minute: number) => new Date(Date.UTC(2026, 0, 1, 0, minute)).toISOString();
    const records = [
      record({ created_at: at(3) }),
      record({ created_at: at(1), state: 'destroyed' }),
      record({ created_at: at(2), handle: { sandbox_id: 'x', host: 'local', extra: { kept: true } } }),
      // Same instant: the id decides.
      record({ id: 'zzzzzzzzzzzz', created_at: at(1) }),
      record({ id: '000000000000', created_at: at(1) }),
    ];
    const { home, store } = await homeWith(records);
    const reader = new FileRecordReader(home);
    expect(await reader.listSandboxes()).toEqual(await store.listSandboxes());
    expect((await reader.listSandboxes()).map((r) => r.created_at)).toEqual([
      at(1),
      at(1),
      at(1),
      at(2),
      at(3),
    ]);
    const [first] = records;
    expect(await reader.getSandbox(first?.id ?? '')).toEqual(await store.getSandbox(first?.id ?? ''));
  });

  test("a corrupt file: skipped by list, named by get with the store's message", async () => {
    const good = record();
    const { home, store } = await homeWith([good]);
    const bad = newSandboxId();
    const badFile = join(home, 'sandboxes', `${bad}.json`);
    writeFileSync(badFile, '{"id": "trunc');
    const invalid = newSandboxId();
    writeFileSync(
      join(home, 'sandboxes', `${invalid}.json`),
      JSON.stringify({ ...good, id: invalid, state: 'lost' }),
    );

    const reader = new FileRecordReader(home);
    expect((await reader.listSandboxes()).map((r) => r.id)).toEqual([good.id]);
    const fromReader = await reader.getSandbox(bad).catch((e: unknown) => e);
    const fromStore = await store.getSandbox(bad).catch((e: unknown) => e);
    expect(fromReader).toBeInstanceOf(StateCorruptError);
    expect((fromReader as StateCorruptError).message).toBe((fromStore as StateCorruptError).message);
    expect((fromReader as StateCorruptError).message).toMatch(
      new RegExp(`^state file ${badFile} cannot be read \\(.*\\); move it aside to continue$`),
    );
    expect((fromReader as StateCorruptError).details).toEqual({ file: badFile });
    await expect(reader.getSandbox(invalid)).rejects.toThrow(StateCorruptError);
  });

  test("only files named like a record are read: a writer's temporary file or a stray file is not one", async () => {
    const good = record();
    const { home } = await homeWith([good]);
    const dir = join(home, 'sandboxes');
    // Shapes that must be ignored; each holds a valid record, so reading one would show up in the list.
    const stray = JSON.stringify(record());
    for (const name of [
      `${good.id}.json.123456`,
      'notes.txt',
      'ABCDEFGHIJKL.json',
      'short.json',
      '.hidden.json',
    ]) {
      writeFileSync(join(dir, name), stray);
    }
    const reader = new FileRecordReader(home);
    expect((await reader.listSandboxes()).map((r) => r.id)).toEqual([good.id]);
    expect(await reader.getSandbox('../../etc/passwd')).toBeUndefined();
  });

  test('a home that does not exist: nothing listed, nothing found, and nothing created', async () => {
    const home = join(tempDir(), 'never-used');
    const reader = new FileRecordReader(home);
    expect(await reader.listSandboxes()).toEqual([]);
    expect(await reader.getSandbox(newSandboxId())).toBeUndefined();
    expect(existsSync(home)).toBe(false);
  });

  test('byCreation orders exactly as localeCompare did', () => {
    const ids = ['b00000000000', 'a00000000000', '900000000000', 'a0000000000z', 'a00000000009'];
    const stamps = ['2026-01-01T00:00:00.000Z', '2025-12-31T23:59:59.999Z', '2026-01-01T00:00:00Z'];
    const items = ids.flatMap((id) => stamps.map((created_at) => ({ id, created_at })));
    const expected = [...items].sort(
      (a, b) => a.created_at.localeCompare(b.created_at) || a.id.localeCompare(b.id),
    );
    expect([...items].reverse().sort(byCreation)).toEqual(expected);
  });
});

describe('FileRecordReader: texts validated before are not validated again', () => {
  /** A reader whose schema loads are counted. */
  function counted(home: string): { reader: FileRecordReader; loads: () => number } {
    let loads = 0;
    const reader = new FileRecordReader(home, {
      loadSchema: async () => {
        loads += 1;
        return sandboxRecordSchema;
      },
    });
    return { reader, loads: () => loads };
  }
  const cacheFile = (home: string) => join(home, 'cache', 'canonical-records.json');

  test('a second listing of what the store wrote loads no schema and gives the same records', async () => {
    const { home, store } = await homeWith([record(), record({ state: 'destroyed' }), record()]);
    const first = counted(home);
    const listed = await first.reader.listSandboxes();
    expect(first.loads()).toBe(1);
    expect(listed).toEqual(await store.listSandboxes());

    const second = counted(home);
    expect(await second.reader.listSandboxes()).toEqual(listed);
    const one = listed[0] as SandboxRecord;
    expect(await second.reader.getSandbox(one.id)).toEqual(one);
    expect(second.loads()).toBe(0);
    expect(JSON.parse(readFileSync(cacheFile(home), 'utf8'))).toMatchObject({ format: RECORD_FORMAT });
  });

  test('a record rewritten by the store is validated again; a removed one leaves the cache', async () => {
    const kept = record();
    const changed = record();
    const removed = record();
    const { home, store } = await homeWith([kept, changed, removed]);
    await counted(home).reader.listSandboxes();
    const before = JSON.parse(readFileSync(cacheFile(home), 'utf8')).canonical as string[];
    expect(before).toHaveLength(3);

    await store.putSandbox({ ...changed, state: 'destroying' });
    // Records are never deleted by sand-boxer; a user may prune old ones by hand.
    rmSync(join(home, 'sandboxes', `${removed.id}.json`), { force: true });
    const again = counted(home);
    const states = Object.fromEntries((await again.reader.listSandboxes()).map((r) => [r.id, r.state]));
    expect(states).toEqual({ [kept.id]: 'ready', [changed.id]: 'destroying' });
    expect(again.loads()).toBe(1);
    const after = JSON.parse(readFileSync(cacheFile(home), 'utf8')).canonical as string[];
    expect(after).toHaveLength(2);
  });

  test('a valid file in another form (hand-edited, extra keys) is parsed by the schema every time, never taken as is', async () => {
    const one = record();
    const { home } = await homeWith([one]);
    const path = join(home, 'sandboxes', `${one.id}.json`);
    writeFileSync(path, JSON.stringify({ ...one, note: 'added by hand' }));
    for (let i = 0; i < 2; i += 1) {
      const { reader, loads } = counted(home);
      expect(await reader.listSandboxes()).toEqual([one]); // the extra key stripped, as the store does
      expect(loads()).toBe(1);
    }
  });

  test('a corrupt file is skipped every time, and an invalid one never becomes trusted', async () => {
    const good = record();
    const { home } = await homeWith([good]);
    const invalid = newSandboxId();
    writeFileSync(
      join(home, 'sandboxes', `${invalid}.json`),
      `${JSON.stringify({ ...good, id: invalid, state: 'lost' }, null, 2)}\n`,
    );
    for (let i = 0; i < 2; i += 1) {
      const { reader } = counted(home);
      expect((await reader.listSandboxes()).map((r) => r.id)).toEqual([good.id]);
      await expect(reader.getSandbox(invalid)).rejects.toThrow(StateCorruptError);
    }
  });

  test('a cache from another record format, a corrupt one or an unwritable one only costs the validation', async () => {
    const one = record();
    const { home } = await homeWith([one]);
    await counted(home).reader.listSandboxes();
    const file = cacheFile(home);
    const text = readFileSync(file, 'utf8');

    writeFileSync(file, text.replace(RECORD_FORMAT, 'another-format'));
    const other = counted(home);
    expect(await other.reader.listSandboxes()).toEqual([one]);
    expect(other.loads()).toBe(1);
    expect(readFileSync(file, 'utf8')).toBe(text); // rewritten in this format

    writeFileSync(file, '{"format": "trunc');
    const corrupt = counted(home);
    expect(await corrupt.reader.listSandboxes()).toEqual([one]);
    expect(corrupt.loads()).toBe(1);

    // Where the cache would go is a file: nothing can be written there (even by root).
    rmSync(join(home, 'cache'), { recursive: true });
    writeFileSync(join(home, 'cache'), '');
    const unwritable = counted(home);
    expect(await unwritable.reader.listSandboxes()).toEqual([one]);
    expect(await unwritable.reader.getSandbox(one.id)).toEqual(one);
    expect(readFileSync(join(home, 'cache'), 'utf8')).toBe('');
  });
});

describe('getRecord and listRecords: what manager.get and manager.list answer', () => {
  test('list: live sandboxes only, unless all', async () => {
    const live = [
      record({ state: 'provisioning' }),
      record({ state: 'ready' }),
      record({ state: 'destroying' }),
    ];
    const ended = [record({ state: 'destroyed' }), record({ state: 'failed' })];
    const { home } = await homeWith([...live, ...ended]);
    const reader = new FileRecordReader(home);
    const ids = (records: SandboxRecord[]) => records.map((r) => r.id).sort();
    expect(ids(await listRecords(reader))).toEqual(ids(live));
    expect(ids(await listRecords(reader, { all: true }))).toEqual(ids([...live, ...ended]));
  });

  test('get: by id or sbx-id; an unknown one names where it looked; a malformed one is an input error', async () => {
    const one = record();
    const { home } = await homeWith([one]);
    const reader = new FileRecordReader(home);
    expect(await getRecord(reader, one.id)).toEqual(one);
    expect(await getRecord(reader, `sbx-${one.id}`)).toEqual(one);
    const missing = newSandboxId();
    await expect(getRecord(reader, missing)).rejects.toThrow(NotFoundError);
    await expect(getRecord(reader, missing)).rejects.toThrow(`no sandbox "${missing}" in ${home}`);
    await expect(getRecord(reader, 'not-an-id')).rejects.toThrow(InputError);
  });
});
