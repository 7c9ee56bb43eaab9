import { announceKeeper, InputError, keep, parseSandboxId } from '@sand-boxer/core';
import { type ContextOptions, openManager } from '../context.js';
import { detachKeeper } from '../detached-keeper.js';
import { type OutputOptions, printJson, printLine } from '../output.js';
import { adoptRecordFlag, type RecordFlag } from '../record-flags.js';

export interface ForwardOptions extends OutputOptions, ContextOptions, RecordFlag {
  /** Local ports, in the order of the names (a free port otherwise). */
  local: string[];
  detach?: boolean;
  /** Set in the detached child itself (hidden, with the sandbox id): it is the sandbox's keeper. */
  keeper?: string;
}

/**
 * `sandboxer forward <id> [service:port …]`: local listeners on 127.0.0.1 tunnelled over one SSH
 * connection to what the sandbox's host sees (every published port when none is named). In the
 * foreground until Ctrl-C; with `--detach`, a keeper process that destroy (and gc) stops, and that
 * reconnects by itself when the connection drops.
 */
export async function forward(id: string, names: string[], options: ForwardOptions): Promise<void> {
  const locals = localPorts(names, options.local);
  if (options.detach && !options.keeper) return detach(id, options);
  const manager = openManager(options);
  await adoptRecordFlag(manager, id, options);
  const log = (message: string) => process.stderr.write(`${new Date().toISOString()} ${message}\n`);
  const keeping = await keep(manager, id, {
    names,
    locals,
    record: options.keeper !== undefined,
    // A detached keeper is the one process that keeps the sandbox for the job: its lease too.
    ...(options.keeper !== undefined ? { lease: 'if-any' as const } : {}),
    ...(options.keeper || options.verbose ? { log } : {}),
  });
  if (options.keeper) {
    // The parent waits for this line; the rest goes to the keeper's log.
    announceKeeper(keeping.urls);
  } else if (options.json) printJson({ sandbox: parseSandboxId(id), urls: keeping.urls });
  else {
    for (const [name, url] of Object.entries(keeping.urls)) printLine(`${name}\t${url}`);
    process.stderr.write('sandboxer: forwarding; Ctrl-C stops it\n');
  }
  const stop = () => keeping.stop();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  await keeping.done;
}

/** `--local` ports by the name they go with: in order of the names given (one port needs no name). */
function localPorts(names: string[], locals: string[]): Record<string, number> {
  if (locals.length === 0) return {};
  if (locals.length > Math.max(names.length, 1)) {
    throw new InputError(
      `--local: ${locals.length} ports for ${names.length || 'no'} names; give one per name, in order`,
    );
  }
  const ports: Record<string, number> = {};
  locals.forEach((text, i) => {
    const port = Number(text);
    if (!Number.isInteger(port) || port < 1 || port > 65_535) {
      throw new InputError(`--local: expected a port number, got ${JSON.stringify(text)}`);
    }
    ports[names[i] ?? '*'] = port;
  });
  return ports;
}

/**
 * Starts this command again as a detached keeper (the same arguments, the same environment), waits
 * for the line with its URLs, and leaves it running; its log goes to `$SANDBOXER_HOME/keepers/`.
 */
async function detach(id: string, options: ForwardOptions): Promise<void> {
  const args = process.argv.slice(2).filter((a) => a !== '--detach');
  const { pid, urls } = await detachKeeper(id, args, options);
  if (options.json) return printJson({ sandbox: parseSandboxId(id), pid, urls });
  for (const [name, url] of Object.entries(urls)) printLine(`${name}\t${url}`);
  process.stderr.write(`sandboxer: forwarding in the background (keeper pid ${pid}); destroy stops it\n`);
}
