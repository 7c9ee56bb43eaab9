import { mkdirSync, rmSync } from 'node:fs';
import { open, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import lockfile from 'proper-lockfile';
import writeFileAtomic from 'write-file-atomic';
import type { z } from 'zod';
import { messageOf, StateConflictError, StateCorruptError } from '../errors.js';
import { type HostStatus, hostStatusSchema, isHostAlias } from '../records/host-status.js';
import { type LedgerEntry, ledgerEntrySchema } from '../records/ledger-entry.js';
import { type SandboxRecord, sandboxRecordSchema } from '../records/sandbox.js';
import { type SnapshotRecord, snapshotRecordSchema } from '../records/snapshot.js';
import { isSandboxId } from '../util/ids.js';
import { isSnapshotId } from '../util/snapshot-ids.js';
import { defaultHome } from './home.js';
import { clearHolder, currentHolder, holderIsDead, writeHolder } from './lock-holder.js';
import { LockQueue } from './lock-queue.js';
import { byCreation, parseRecordFile, recordText, SANDBOX_FILE } from './record-files.js';
import type { LedgerChange, LockOptions, StateStore } from './store.js';

/** A torn last line is at most one entry long; entries are a few hundred bytes (notes ≤ 1000). */
const TORN_LINE_MAX = 64 * 1024;

/** Held around every change of `ledger.jsonl`. */
const LEDGER_LOCK = 'ledger';

/** A lock whose holder stopped refreshing it (crashed, killed) is taken over after this long. */
const STALE_LOCK_MS = 10_000;

/**
 * The embedded state store: one JSON file per sandbox under `<home>/sandboxes/`, one per snapshot
 * under `<home>/snapshots/`.
 *
 * Why it is safe with many processes and after `kill -9`: every write goes to a temporary file that
 * is fsynced and then renamed over the record (write-file-atomic), so a reader sees the old record or
 * the new one, never half of one; a writer killed mid-write leaves at most a stray temporary file,
 * which readers ignore. Read-modify-write sequences run under `withLock` (proper-lockfile: an
 * atomic `mkdir` lock that its holder keeps fresh, and that others take over once it goes stale).
 */
export class FileStateStore implements StateStore {
  readonly location: string;
  readonly #sandboxDir: string;
  readonly #snapshotDir: string;
  readonly #lockDir: string;
  readonly #ledgerFile: string;
  readonly #hostDir: string;

  constructor(home: string = defaultHome()) {
    this.location = home;
    this.#sandboxDir = join(home, 'sandboxes');
    this.#snapshotDir = join(home, 'snapshots');
    this.#lockDir = join(home, 'locks');
    this.#ledgerFile = join(home, 'ledger.jsonl');
    this.#hostDir = join(home, 'hosts');
    mkdirSync(this.#sandboxDir, { recursive: true, mode: 0o700 });
    mkdirSync(this.#lockDir, { recursive: true, mode: 0o700 });
  }

  /** Where local copies of snapshot artifacts go (`<home>/snapshots/artifacts/`). */
  get artifactDir(): string {
    return join(this.#snapshotDir, 'artifacts');
  }

  async getSandbox(id: string): Promise<SandboxRecord | undefined> {
    if (!isSandboxId(id)) return undefined;
    return this.#read(join(this.#sandboxDir, `${id}.json`), sandboxRecordSchema);
  }

  async putSandbox(record: SandboxRecord): Promise<void> {
    const valid = sandboxRecordSchema.parse(record);
    if (!isSandboxId(valid.id))
      throw new StateCorruptError(`refusing to store a record with id ${JSON.stringify(valid.id)}`);
    await writeFileAtomic(join(this.#sandboxDir, `${valid.id}.json`), recordText(valid), {
      mode: 0o600,
      fsync: true,
    });
  }

  async listSandboxes(): Promise<SandboxRecord[]> {
    return this.#readAll(this.#sandboxDir, SANDBOX_FILE, sandboxRecordSchema);
  }

  async getSnapshot(id: string): Promise<SnapshotRecord | undefined> {
    if (!isSnapshotId(id)) return undefined;
    return this.#read(join(this.#snapshotDir, `${id}.json`), snapshotRecordSchema);
  }

  async putSnapshot(record: SnapshotRecord): Promise<void> {
    const valid = snapshotRecordSchema.parse(record);
    if (!isSnapshotId(valid.id))
      throw new StateCorruptError(`refusing to store a snapshot with id ${JSON.stringify(valid.id)}`);
    mkdirSync(this.#snapshotDir, { recursive: true, mode: 0o700 });
    await writeFileAtomic(join(this.#snapshotDir, `${valid.id}.json`), recordText(valid), {
      mode: 0o600,
      fsync: true,
    });
  }

  async getHostStatus(host: string): Promise<HostStatus | undefined> {
    if (!isHostAlias(host)) return undefined;
    return this.#read(join(this.#hostDir, `${host}.json`), hostStatusSchema);
  }

  async putHostStatus(status: HostStatus): Promise<void> {
    const valid = hostStatusSchema.parse(status);
    mkdirSync(this.#hostDir, { recursive: true, mode: 0o700 });
    await writeFileAtomic(join(this.#hostDir, `${valid.host}.json`), `${JSON.stringify(valid, null, 2)}\n`, {
      mode: 0o600,
      fsync: true,
    });
  }

  async listHostStatuses(): Promise<HostStatus[]> {
    let names: string[];
    try {
      names = (await readdir(this.#hostDir)).filter((n) => n.endsWith('.json'));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
    const statuses = await Promise.all(
      names.map((n) => this.#read(join(this.#hostDir, n), hostStatusSchema).catch(() => undefined)),
    );
    return statuses
      .filter((s): s is HostStatus => s !== undefined)
      .sort((a, b) => a.host.localeCompare(b.host));
  }

  async listSnapshots(): Promise<SnapshotRecord[]> {
    return this.#readAll(this.#snapshotDir, /^snap-[a-z0-9]{12}\.json$/, snapshotRecordSchema);
  }

  /** Every record in `dir`, oldest first; one unreadable file must not hide the others (`show <id>` reports it). */
  async #readAll<T extends { id: string; created_at: string }>(
    dir: string,
    pattern: RegExp,
    schema: z.ZodType<T>,
  ): Promise<T[]> {
    let names: string[];
    try {
      names = (await readdir(dir)).filter((n) => pattern.test(n));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
    const records = await Promise.all(
      names.map((name) =>
        this.#read(join(dir, name), schema).catch((error: unknown) => {
          if (error instanceof StateCorruptError) return undefined;
          throw error;
        }),
      ),
    );
    return records.filter((r): r is Awaited<T> => r !== undefined).sort(byCreation);
  }

  /**
   * `ledger.jsonl`, one entry per line. A writer killed mid-append can leave a partial last line (no
   * newline after it): it never completed, so it never counted, and the next append cuts it off.
   * Any other line that does not read as an entry means the history cannot be trusted: STATE_CORRUPT,
   * naming the file and the line, rather than a balance computed without it.
   */
  async readLedger(account?: string): Promise<LedgerEntry[]> {
    const entries = await this.#readLedgerFile();
    return account === undefined ? entries : entries.filter((e) => e.account === account);
  }

  /** One file holds every account's history: a transaction on any account takes the ledger lock. */
  ledgerTransaction<T>(
    account: string,
    fn: (entries: LedgerEntry[]) => LedgerChange<T> | Promise<LedgerChange<T>>,
  ): Promise<T> {
    return this.withLock(LEDGER_LOCK, async () => {
      const { append, result } = await fn(await this.readLedger(account));
      if (append.length > 0) await this.#appendLedger(append);
      return result;
    });
  }

  importLedger(entries: LedgerEntry[]): Promise<number> {
    return this.withLock(LEDGER_LOCK, async () => {
      const known = new Set((await this.#readLedgerFile()).map((e) => e.id));
      const fresh = entries.filter((e) => !known.has(e.id));
      if (fresh.length > 0) await this.#appendLedger(fresh);
      return fresh.length;
    });
  }

  async #readLedgerFile(): Promise<LedgerEntry[]> {
    let text: string;
    try {
      text = await readFile(this.#ledgerFile, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
    const lines = text.split('\n');
    lines.pop(); // after the last newline: empty, or a torn line
    const entries: LedgerEntry[] = [];
    for (const [index, line] of lines.entries()) {
      if (!line.trim()) continue;
      try {
        entries.push(ledgerEntrySchema.parse(JSON.parse(line)));
      } catch (error) {
        throw new StateCorruptError(
          `${this.#ledgerFile}: line ${index + 1} is not a valid ledger entry (${error instanceof SyntaxError ? 'not JSON' : 'wrong fields'}); balances cannot be trusted until it is repaired by hand`,
          { file: this.#ledgerFile, line: index + 1 },
        );
      }
    }
    return entries;
  }

  /** Appends entries (the caller holds the ledger lock), first cutting off a torn last line. */
  async #appendLedger(entries: LedgerEntry[]): Promise<void> {
    const handle = await open(this.#ledgerFile, 'a+', 0o600);
    try {
      const { size } = await handle.stat();
      if (size > 0) {
        const tail = Buffer.alloc(Math.min(size, TORN_LINE_MAX));
        await handle.read(tail, 0, tail.length, size - tail.length);
        if (tail.at(-1) !== 0x0a) {
          const cut = tail.lastIndexOf(0x0a);
          if (cut < 0 && tail.length < size) {
            throw new StateCorruptError(`${this.#ledgerFile}: its last line is longer than any entry`, {
              file: this.#ledgerFile,
            });
          }
          await handle.truncate(size - tail.length + cut + 1);
        }
      }
      const body = entries.map((e) => JSON.stringify(ledgerEntrySchema.parse(e))).join('\n');
      await handle.write(`${body}\n`);
      await handle.sync();
    } finally {
      await handle.close();
    }
  }

  readonly #queue = new LockQueue();
  readonly #holder = currentHolder();

  withLock<T>(key: string, fn: () => Promise<T>, options: LockOptions = {}): Promise<T> {
    return this.#queue.run(key, options.waitMs, () => this.#withFileLock(key, fn, options));
  }

  async #withFileLock<T>(key: string, fn: () => Promise<T>, options: LockOptions): Promise<T> {
    const target = join(this.#lockDir, key.replace(/[^a-zA-Z0-9._-]/g, '_'));
    const holderFile = `${target}.holder`;
    const waitMs = options.waitMs ?? 30_000;
    // A lock left by a process of this boot that is gone is abandoned now, not once it goes stale.
    if (holderIsDead(holderFile)) {
      rmSync(`${target}.lock`, { recursive: true, force: true });
      clearHolder(holderFile);
    }
    let release: () => Promise<void>;
    try {
      release = await lockfile.lock(target, {
        realpath: false,
        stale: STALE_LOCK_MS,
        // Taken over as stale (this process was frozen for longer than STALE_LOCK_MS): the default
        // handler throws from a timer and would crash the process; the record writes stay atomic.
        onCompromised: () => {},
        retries: { retries: Math.ceil(waitMs / 100), factor: 1, minTimeout: 100, maxTimeout: 100 },
      });
    } catch (error) {
      throw new StateConflictError(
        `another sand-boxer process is working on ${key} (waited ${Math.round(waitMs / 1000)} s); try again when it is done`,
        { lock: key, reason: messageOf(error) },
      );
    }
    writeHolder(holderFile, this.#holder);
    try {
      return await fn();
    } finally {
      clearHolder(holderFile);
      await release().catch(() => {
        // The lock was already taken over as stale; nothing of ours is left to release.
      });
    }
  }

  async #read<T>(path: string, schema: z.ZodType<T>): Promise<T | undefined> {
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
    return parseRecordFile(path, text, schema);
  }
}
