import { hostname } from 'node:os';
import { join } from 'node:path';
import type { RemoteService } from '@sand-boxer/client';
import {
  announceKeeper,
  KEEPER_MARK,
  type Keeper,
  type KeeperHost,
  keep,
  SandboxerError,
  type SandboxRecord,
  spawnKeeper,
} from '@sand-boxer/core';
import { openManager, openServer } from './context.js';
import type { ActionInputs } from './inputs.js';

/**
 * The action's keeper: a detached `node dist/index.js --keeper <id>` that forwards the sandbox's ports
 * to the runner's 127.0.0.1 for the rest of the job (the main step's process ends at once; the runner
 * ends the keeper with the job if post did not). Its settings come on stdin, never on its command
 * line or in its environment, where the key would show.
 */

export type KeeperInputs = Pick<
  ActionInputs,
  | 'sshKey'
  | 'knownHosts'
  | 'hostFingerprint'
  | 'composeCommand'
  | 'serverUrl'
  | 'serverToken'
  | 'oidcAudience'
>;

interface KeeperConfig {
  record: SandboxRecord;
  names: string[];
  /** Whether to forward at all (`names` empty with this is every published port). */
  forward: boolean;
  inputs: KeeperInputs;
}

/** True when this process was started as the keeper. */
export function isKeeper(argv: string[] = process.argv): boolean {
  return argv.includes(KEEPER_MARK);
}

/**
 * Starts the keeper and leaves it running; resolves what the record should say about it.
 * `onSpawn` learns the pid at once, so that a main step cancelled meanwhile still lets post stop it.
 */
export async function startKeeper(
  record: SandboxRecord,
  names: string[],
  forward: boolean,
  inputs: KeeperInputs,
  onSpawn: (keeper: Keeper) => void,
): Promise<Keeper> {
  const started = { machine: hostname(), started_at: new Date().toISOString() };
  const config: KeeperConfig = { record, names, forward, inputs };
  const { pid, urls } = await spawnKeeper([process.argv[1] as string, KEEPER_MARK, record.id], {
    logFile: join(process.env.RUNNER_TEMP || '/tmp', `sandboxer-keeper-${record.id}.log`),
    input: JSON.stringify(config),
    onSpawn: (pid) => onSpawn({ pid, ...started, forwards: {} }),
  });
  return { pid, ...started, forwards: urls };
}

/** The keeper itself: forwards and renews the lease until post stops it (SIGTERM) or the sandbox is gone. */
export async function runKeeper(): Promise<void> {
  let text = '';
  for await (const chunk of process.stdin) text += chunk;
  const config = JSON.parse(text) as KeeperConfig;
  const log = (message: string) => process.stderr.write(`${new Date().toISOString()} ${message}\n`);
  try {
    const keeping = await keep(await keeperHost(config), config.record.id, {
      names: config.names,
      noForwards: !config.forward,
      lease: 'if-any',
      log,
    });
    announceKeeper(keeping.urls);
    // Nobody reads this stdout from now on (it is not the job's log), yet @actions/core writes mask
    // commands to it (a fresh OIDC token is masked as it is minted): drop them.
    process.stdout.write = () => true;
    const stop = () => keeping.stop();
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
    await keeping.done;
  } catch (error) {
    log(`cannot forward: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
  }
}

/**
 * What the keeper works through: a manager of its own holding the record (forwards and renewals over
 * one SSH connection), or — for a sandbox the team's server holds — the server for the record and
 * the lease (it renews where the lease is kept), with SSH only for the forwards.
 */
async function keeperHost(config: KeeperConfig): Promise<KeeperHost> {
  const manager = openManager(config.inputs, { mask: false });
  await manager.adopt(config.record);
  const { serverUrl } = config.inputs;
  if (!serverUrl) return manager;
  let remote: Promise<RemoteService> | undefined;
  // Logged in again when the server refuses the token: the job's OIDC token is short-lived, and the
  // runner hands fresh ones to this process too (it has the job's environment).
  const server = async <T>(call: (remote: RemoteService) => Promise<T>): Promise<T> => {
    for (let attempt = 0; ; attempt++) {
      remote ??= openServer({ ...config.inputs, serverUrl });
      try {
        return await call(await remote);
      } catch (error) {
        const refused = error instanceof SandboxerError && error.code === 'UNAUTHORIZED';
        if (!refused || attempt > 0) throw error;
        remote = undefined;
      }
    }
  };
  return {
    get: (id) => server((r) => r.get(id)),
    renewLease: (id) => server((r) => r.renewLease(id)),
    setKeeper: (id, keeper) => manager.setKeeper(id, keeper),
    ...(config.forward ? { openChannel: (id: string) => manager.openChannel(id) } : {}),
  };
}
