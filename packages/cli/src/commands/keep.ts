import { announceKeeper, type KeeperHost, keep as keepSandbox, parseSandboxId } from '@sand-boxer/core';
import { type ContextOptions, openManager, openService } from '../context.js';
import { detachKeeper } from '../detached-keeper.js';
import { type OutputOptions, printJson } from '../output.js';

export interface KeepOptions extends OutputOptions, ContextOptions {
  detach?: boolean;
  /** Set in the detached child itself (hidden, with the sandbox id): it is the sandbox's keeper. */
  keeper?: string;
}

/**
 * `sandboxer keep <id> [--detach]`: renews the sandbox's lease (every lease/4) until Ctrl-C, or —
 * detached — in a keeper that destroy stops and that ends by itself once the sandbox is gone.
 */
export async function keep(id: string, options: KeepOptions): Promise<void> {
  if (options.detach && !options.keeper) {
    const args = withoutToken(process.argv.slice(2).filter((a) => a !== '--detach'));
    const { pid } = await detachKeeper(id, args, options);
    if (options.json) return printJson({ sandbox: parseSandboxId(id), pid });
    process.stderr.write(
      `sandboxer: keeping the lease in the background (keeper pid ${pid}); destroy stops it\n`,
    );
    return;
  }
  const manager = await keeperHost(options);
  const log = (message: string) => process.stderr.write(`${new Date().toISOString()} ${message}\n`);
  const keeping = await keepSandbox(manager, id, {
    names: [],
    noForwards: true,
    lease: 'required',
    record: options.keeper !== undefined,
    log,
  });
  if (options.keeper) announceKeeper({});
  else
    process.stderr.write(
      'sandboxer: keeping the lease; Ctrl-C stops (the sandbox then goes when its lease lapses)\n',
    );
  const stop = () => keeping.stop();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  await keeping.done;
}

/**
 * Who the keeper renews through: this machine's manager (over one SSH connection to the host), or
 * — with `--server` — the server, which renews the lease where it is kept; a keeper there is not
 * recorded (the server cannot stop a process here): it stops once the server says the sandbox is gone.
 */
async function keeperHost(options: KeepOptions): Promise<KeeperHost> {
  if (!options.server) return openManager(options);
  const { RemoteService } = await import('@sand-boxer/client');
  const remote = (await openService(options)) as InstanceType<typeof RemoteService>;
  return {
    get: (id) => remote.get(id),
    renewLease: (id) => remote.renewLease(id),
    setKeeper: (id) => remote.get(id),
  };
}

/** The arguments without `--token <t>` / `--token=<t>`: the keeper gets it in its environment. */
function withoutToken(args: string[]): string[] {
  return args.filter((a, i) => a !== '--token' && !a.startsWith('--token=') && args[i - 1] !== '--token');
}
