import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { z } from 'zod';
import { messageOf, StateCorruptError } from '../errors.js';
import type { SandboxRecord } from '../records/sandbox.js';
import { isSandboxId } from '../util/ids.js';
import { CanonicalRecords } from './canonical-records.js';
import type { StateStore } from './store.js';

/**
 * How records sit on disk, shared by the file store and the read-only reader below so both name a
 * broken file and order a listing the same way. Kept free of the store's locking and atomic-write
 * dependencies: `list` and `status` load this module and nothing heavier.
 */

/** Sandbox record files in `<home>/sandboxes/`; anything else there (a writer's temporary file) is not one. */
export const SANDBOX_FILE = /^[a-z0-9]{12}\.json$/;

/** The text the store writes for a validated record; the one text CanonicalRecords trusts unvalidated. */
export function recordText(record: unknown): string {
  return `${JSON.stringify(record, null, 2)}\n`;
}

/** The validated content of a record file, or a StateCorruptError that names the file and how to get past it. */
export function parseRecordFile<T>(path: string, text: string, schema: z.ZodType<T>): T {
  try {
    return schema.parse(JSON.parse(text));
  } catch (error) {
    throw new StateCorruptError(
      `state file ${path} cannot be read (${messageOf(error).split('\n')[0]}); move it aside to continue`,
      { file: path },
      { cause: error },
    );
  }
}

/**
 * The collator `localeCompare` uses, made once: looking it up again on every call made sorting 1,000
 * records take ~18 ms. Same order as `a.localeCompare(b)`, by definition.
 */
const collator = new Intl.Collator();

/** Oldest first, ties by id: the order of every listing, so repeated lists agree. */
export function byCreation(
  a: { id: string; created_at: string },
  b: { id: string; created_at: string },
): number {
  return collator.compare(a.created_at, b.created_at) || collator.compare(a.id, b.id);
}

/** What `get` and `list` need from a store: the file store, or the reader below. */
export type RecordSource = Pick<StateStore, 'location' | 'getSandbox' | 'listSandboxes'>;

/**
 * The sandbox records of a home, read-only, for one-shot commands that only read them (`list`,
 * `status`). Same results and errors as FileStateStore, but it reads with synchronous calls: a
 * process that runs one listing and exits has nothing else for the event loop to do, and per-file
 * `readFile` from fs/promises pays an open/fstat/read/close round trip through the thread pool for
 * each file — about 0.1 s more than a sync loop for 1,000 records here. The long-running server
 * keeps the store's asynchronous reads.
 *
 * A record whose exact text it has validated before (CanonicalRecords, in `<home>/cache/`) is taken
 * as it is; only new or changed texts load the schema, which is most of the cost of a listing.
 */
export class FileRecordReader implements RecordSource {
  readonly location: string;
  readonly #sandboxDir: string;
  readonly #loadSchema: () => Promise<z.ZodType<SandboxRecord>>;
  #schema: Promise<z.ZodType<SandboxRecord>> | undefined;

  /** `loadSchema` is for tests, which count how often the schema is needed. */
  constructor(home: string, options: { loadSchema?: () => Promise<z.ZodType<SandboxRecord>> } = {}) {
    this.location = home;
    this.#sandboxDir = join(home, 'sandboxes');
    this.#loadSchema =
      options.loadSchema ?? (async () => (await import('../records/sandbox.js')).sandboxRecordSchema);
  }

  async getSandbox(id: string): Promise<SandboxRecord | undefined> {
    if (!isSandboxId(id)) return undefined;
    const path = join(this.#sandboxDir, `${id}.json`);
    const text = readIfExists(path);
    if (text === undefined) return undefined;
    const canonical = new CanonicalRecords(this.location);
    const record = await this.#parse(path, text, canonical);
    canonical.save({ prune: false });
    return record;
  }

  /** Every record, oldest first; a corrupt file is skipped, as the store does (`status <id>` names it). */
  async listSandboxes(): Promise<SandboxRecord[]> {
    let names: string[];
    try {
      names = readdirSync(this.#sandboxDir).filter((n) => SANDBOX_FILE.test(n));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
    const canonical = new CanonicalRecords(this.location);
    const records: SandboxRecord[] = [];
    for (const name of names) {
      const path = join(this.#sandboxDir, name);
      const text = readIfExists(path);
      if (text === undefined) continue;
      try {
        records.push(await this.#parse(path, text, canonical));
      } catch (error) {
        if (!(error instanceof StateCorruptError)) throw error;
      }
    }
    canonical.save({ prune: true });
    return records.sort(byCreation);
  }

  async #parse(path: string, text: string, canonical: CanonicalRecords): Promise<SandboxRecord> {
    const key = CanonicalRecords.keyOf(text);
    if (canonical.has(key)) return JSON.parse(text) as SandboxRecord;
    this.#schema ??= this.#loadSchema();
    const record = parseRecordFile(path, text, await this.#schema);
    // Hand-edited or from another version (extra keys, missing defaults): valid, but not taken as is.
    if (recordText(record) === text) canonical.learn(key);
    return record;
  }
}

/** A file's text, or undefined when it is gone (destroyed and removed between readdir and read). */
function readIfExists(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}
