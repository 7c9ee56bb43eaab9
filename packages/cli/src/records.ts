import { defaultHome, FileRecordReader } from '@sand-boxer/core/records';
import type { ContextOptions } from './context.js';

/**
 * The records of the chosen home, read-only, for commands that only read them (`list`, `status`).
 * Kept apart from context.ts, and imported from `@sand-boxer/core/records` rather than the main
 * entry, so their bundle chunks hold the state reader and the record schema, not the catalog,
 * manager, routing and SSH that `openManager` brings.
 */
export function openRecords(options: Pick<ContextOptions, 'home'> = {}): FileRecordReader {
  return new FileRecordReader(options.home ?? defaultHome());
}
