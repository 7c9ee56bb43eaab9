import { resolve } from 'node:path';
import { FileStateStore } from './file-store.js';
import { isPostgresUrl } from './postgres/connection.js';
import { PostgresStateStore } from './postgres/postgres-store.js';
import type { StateStore } from './store.js';

/**
 * The store `--state` (or `$SANDBOXER_STATE`) names: a `postgres://` URL (a team's shared database),
 * or a directory for the file store; without one, the file store in the home directory.
 */
export function openStateStore(state: string | undefined, home: string, cwd = process.cwd()): StateStore {
  if (state && isPostgresUrl(state)) return new PostgresStateStore(state);
  return new FileStateStore(state ? resolve(cwd, state) : home);
}
