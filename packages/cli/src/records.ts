import { existsSync } from 'node:fs';
import type { SandboxService } from '@sand-boxer/core';
import { InputError } from '@sand-boxer/core/errors';
import { defaultHome, FileRecordReader, type RecordSource } from '@sand-boxer/core/records';
import type { ContextOptions } from './context.js';

/**
 * The records of the chosen state, read-only, for commands that only read them (`list`, `status`).
 * Kept apart from context.ts, and imported from `@sand-boxer/core/records` rather than the main
 * entry, so their bundle chunks hold the state reader and the record schema, not the catalog,
 * manager, routing and SSH that `openManager` brings. A database is read through its store, loaded
 * only then.
 */
export async function openRecords(
  options: Pick<ContextOptions, 'home' | 'state'> = {},
): Promise<RecordSource> {
  const { state } = options;
  if (state && /^postgres(ql)?:\/\//i.test(state)) {
    const { PostgresStateStore } = await import('@sand-boxer/core/postgres');
    return new PostgresStateStore(state);
  }
  const dir = state ?? options.home;
  // A directory named on purpose that is not there is a typo, not an empty store ("no sandboxes").
  if (dir !== undefined && !existsSync(dir)) {
    const flag = state !== undefined ? '--state (SANDBOXER_STATE)' : '--home (SANDBOXER_HOME)';
    throw new InputError(
      `${flag}: ${dir} does not exist, so no sandbox was ever made there; check the path (a create makes the directory)`,
      { field: state !== undefined ? 'state' : 'home' },
    );
  }
  return new FileRecordReader(dir ?? defaultHome());
}

/** With `--server`, the server answers instead; loaded only then, so a local listing stays light. */
export async function serverOf(options: ContextOptions): Promise<SandboxService> {
  return (await import('./context.js')).openService(options);
}
