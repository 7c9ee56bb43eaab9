import { homedir } from 'node:os';
import { join } from 'node:path';

/**
 * `$SANDBOXER_HOME`, else `~/.sandboxer`. Its own module so that commands which only need the path
 * (list, status, credits) do not load the file store's locking and atomic-write dependencies.
 */
export function defaultHome(env: NodeJS.ProcessEnv = process.env): string {
  return env.SANDBOXER_HOME || join(homedir(), '.sandboxer');
}
