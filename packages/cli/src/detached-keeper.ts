import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import {
  defaultHome,
  KEEPER_MARK,
  type KeeperAnnouncement,
  parseSandboxId,
  spawnKeeper,
} from '@sand-boxer/core';
import type { ContextOptions } from './context.js';

/**
 * Starts `sandboxer <args> --keeper <id>` detached (forward --detach, keep --detach, create --lease),
 * its log in `$SANDBOXER_HOME/keepers/<id>.log`, and resolves what it announced once it is keeping.
 */
export async function detachKeeper(
  id: string,
  args: string[],
  options: ContextOptions,
): Promise<KeeperAnnouncement> {
  const logs = join(options.home ?? defaultHome(), 'keepers');
  mkdirSync(logs, { recursive: true, mode: 0o700 });
  const sandbox = parseSandboxId(id);
  // A keeper through a server logs in with this invocation's token, handed over in its environment
  // (spawnKeeper passes ours on), where `ps` does not show it.
  if (options.token) process.env.SANDBOXER_TOKEN = options.token;
  // The mark and the bare id on its command line tell destroy this process is the sandbox's keeper.
  return spawnKeeper([process.argv[1] as string, ...args, KEEPER_MARK, sandbox], {
    logFile: join(logs, `${sandbox}.log`),
  });
}
