import { InputError } from '@sand-boxer/core';
import { type ContextOptions, openManager } from '../context.js';
import { CommandNotRun, EXIT } from '../exit-codes.js';
import { adoptRecordFlag, type RecordFlag } from '../record-flags.js';
import { abortOnInterrupt } from '../signals.js';

export interface ExecOptions extends ContextOptions, RecordFlag {
  service?: string;
}

/**
 * `sandboxer exec <id> [--service S] -- cmd args…`: runs the command in the sandbox's workspace on
 * its host, or in a service's container; its output streams here and its exit code is ours. Each
 * argument reaches the command as it is: nothing is re-split or interpreted by a shell. When the
 * command could not be run at all, sandboxer's own failure exits 125 (a usage error still exits 2).
 */
export async function exec(id: string, argv: string[], options: ExecOptions): Promise<void> {
  if (argv.length === 0)
    throw new InputError('nothing to run: give the command after --, e.g. sandboxer exec <id> -- ls -la');
  await run(id, argv, options).catch((error: unknown) => {
    throw new CommandNotRun(error);
  });
}

async function run(id: string, argv: string[], options: ExecOptions): Promise<void> {
  const manager = openManager(options);
  await adoptRecordFlag(manager, id, options);
  const interrupt = abortOnInterrupt();
  try {
    const code = await manager.exec(id, {
      argv,
      ...(options.service ? { service: options.service } : {}),
      // A pipe or a file on stdin goes to the command; a terminal does not (it would wait for EOF).
      ...(process.stdin.isTTY ? {} : { stdin: process.stdin }),
      stdout: (chunk) => process.stdout.write(chunk),
      stderr: (chunk) => process.stderr.write(chunk),
      signal: interrupt.signal,
    });
    // Stopped by Ctrl-C (the remote command was killed): as a shell reports it.
    process.exitCode = interrupt.signal.aborted ? EXIT.interrupted : code;
  } finally {
    interrupt.release();
    if (!process.stdin.isTTY) process.stdin.destroy();
  }
}
