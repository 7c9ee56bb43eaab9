import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { z } from 'zod';
import { messageOf, StateCorruptError } from '../errors.js';
import { type SandboxRecord, sandboxRecordSchema } from '../manager/record.js';
import { isSandboxId } from '../util/ids.js';
import type { StateStore } from './store.js';

/**
 * How records sit on disk, shared by the file store and the read-only reader below so both name a
 * broken file and order a listing the same way. Kept free of the store's locking and atomic-write
 * dependencies: `list` and `status` load this module and nothing heavier.
 */

/** Sandbox record files in `<home>/sandboxes/`; anything else there (a writer's temporary file) is not one. */
export const SANDBOX_FILE = /^[a-z0-9]{12}\.json$/;

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
 * `status`). Same results and errors as FileStateStore, but it creates no directories and reads with
 * synchronous calls: a process that runs one listing and exits has nothing else for the event loop
 * to do, and per-file `readFile` from fs/promises pays an open/fstat/read/close round trip through
 * the thread pool for each file — about 0.1 s more than a sync loop for 1,000 records here. The
 * long-running server keeps the store's asynchronous reads.
 */
export class FileRecordReader implements RecordSource {
  readonly location: string;
  readonly #sandboxDir: string;

  constructor(home: string) {
    this.location = home;
    this.#sandboxDir = join(home, 'sandboxes');
  }

  async getSandbox(id: string): Promise<SandboxRecord | undefined> {
    if (!isSandboxId(id)) return undefined;
    const path = join(this.#sandboxDir, `${id}.json`);
    const text = readIfExists(path);
    return text === undefined ? undefined : parseRecordFile(path, text, sandboxRecordSchema);
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
    const records: SandboxRecord[] = [];
    for (const name of names) {
      const path = join(this.#sandboxDir, name);
      const text = readIfExists(path);
      if (text === undefined) continue;
      try {
        records.push(parseRecordFile(path, text, sandboxRecordSchema));
      } catch (error) {
        if (!(error instanceof StateCorruptError)) throw error;
      }
    }
    return records.sort(byCreation);
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
