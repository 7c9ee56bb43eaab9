import { resolve } from 'node:path';
import {
  defaultHome,
  FileStateStore,
  InputError,
  isPostgresUrl,
  openStateStore,
  redactUrl,
} from '@sand-boxer/core';
import type { ContextOptions } from '../context.js';
import { type OutputOptions, printJson, printLine } from '../output.js';

type Options = OutputOptions & ContextOptions;

export interface StateImportOptions extends Options {
  from: string;
}

/** The database `--state` names; these commands have nothing to do on a directory. */
function database(options: Options): string {
  if (!options.state || !isPostgresUrl(options.state)) {
    throw new InputError(
      '--state: give the database, e.g. --state postgres://sandboxer:…@db.example/sandboxer (or SANDBOXER_STATE)',
      { field: 'state' },
    );
  }
  return options.state;
}

/** `sandboxer state migrate`: applies pending schema migrations (every start does too) and says which. */
export async function migrate(options: Options): Promise<void> {
  const url = database(options);
  const { PostgresStateStore } = await import('@sand-boxer/core');
  const store = new PostgresStateStore(url);
  try {
    const applied = await store.migrate();
    if (options.json) return printJson({ state: redactUrl(url), applied });
    if (applied.length === 0) return printLine(`${redactUrl(url)}: the schema is up to date`);
    for (const m of applied) printLine(`${redactUrl(url)}: applied migration ${m.version} (${m.name})`);
  } finally {
    await store.close();
  }
}

/**
 * `sandboxer state import --from <dir>`: copies a file store into `--state`. Records the target
 * already has are kept as they are (the target may have moved on since); ledger entries are added
 * by id. Running it again copies nothing twice.
 */
export async function importState(options: StateImportOptions): Promise<void> {
  const source = new FileStateStore(resolve(options.from));
  const target = openStateStore(database(options), options.home ?? defaultHome());
  try {
    const copied = { sandboxes: 0, snapshots: 0, ledger_entries: 0, kept: 0 };
    for (const record of await source.listSandboxes()) {
      if (await target.getSandbox(record.id)) copied.kept += 1;
      else {
        await target.putSandbox(record);
        copied.sandboxes += 1;
      }
    }
    for (const record of await source.listSnapshots()) {
      if (await target.getSnapshot(record.id)) copied.kept += 1;
      else {
        await target.putSnapshot(record);
        copied.snapshots += 1;
      }
    }
    copied.ledger_entries = await target.importLedger(await source.readLedger());
    if (options.json) return printJson({ from: source.location, to: target.location, ...copied });
    printLine(
      `copied ${copied.sandboxes} sandboxes, ${copied.snapshots} snapshots and ${copied.ledger_entries} ledger entries from ${source.location} to ${target.location} (${copied.kept} records were there already and kept)`,
    );
  } finally {
    await target.close?.();
  }
}
