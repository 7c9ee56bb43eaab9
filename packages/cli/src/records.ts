import type { SandboxService } from '@sand-boxer/core';
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
  return new FileRecordReader(state ?? options.home ?? defaultHome());
}

/** With `--server`, the server answers instead; loaded only then, so a local listing stays light. */
export async function serverOf(options: ContextOptions): Promise<SandboxService> {
  return (await import('./context.js')).openService(options);
}
