import type { Command } from 'commander';
import { collect, merged } from './cli-options.js';
import type { RestoreCliOptions } from './commands/restore.js';

/** Commander wiring of snapshots and restores. */
export function registerSnapshotCommands(program: Command): void {
  const snapshot = program
    .command('snapshot')
    .description('consistent checkpoints of live sandboxes: create, list, show, pull, delete');
  snapshot
    .command('create <sandbox>')
    .description('capture a ready sandbox (workspace and volumes, services paused meanwhile)')
    .option('--name <name>', 'a name to refer to it by, e.g. before-migration')
    .option('--pull', 'also keep a copy on this machine, so it can be restored on another host')
    .option('--json', 'print the snapshot record as JSON')
    .action(async (sandbox: string, _options, command: Command) =>
      (await import('./commands/snapshot.js')).snapshotCreate(sandbox, merged(command)),
    );
  snapshot
    .command('list')
    .description('list snapshots')
    .option('-a, --all', 'include failed and deleted snapshots')
    .option('--json', 'print an array of records as JSON')
    .action(async (_options, command: Command) =>
      (await import('./commands/snapshot.js')).snapshotList(merged(command)),
    );
  snapshot
    .command('show <snapshot>')
    .description('show one snapshot (by id or name)')
    .option('--json', 'print the record as JSON')
    .action(async (ref: string, _options, command: Command) =>
      (await import('./commands/snapshot.js')).snapshotShow(ref, merged(command)),
    );
  snapshot
    .command('pull <snapshot>')
    .description("copy a host-kept snapshot into this machine's store (verified by sha256)")
    .option('--json', 'print the record as JSON')
    .action(async (ref: string, _options, command: Command) =>
      (await import('./commands/snapshot.js')).snapshotPull(ref, merged(command)),
    );
  snapshot
    .command('delete <snapshot>')
    .description('delete a snapshot and every copy of its artifact')
    .option('--json', 'print the final record as JSON')
    .action(async (ref: string, _options, command: Command) =>
      (await import('./commands/snapshot.js')).snapshotDelete(ref, merged(command)),
    );

  program
    .command('restore <snapshot>')
    .description('bring a snapshot back: as a new sandbox (default) or --in-place')
    .option('--in-place', 'restore over the sandbox it was taken from (or --sandbox), keeping its id')
    .option('--sandbox <sandbox>', 'with --in-place: the sandbox to restore over')
    .option('--host <host>', 'for a new sandbox: the host to restore on (default: where it was taken)')
    .option('-i, --input <key=value>', 'an input for the restored stack, e.g. env (repeatable)', collect, [])
    .option('--ttl <duration>', "lifetime of the new sandbox (default: the profile's)")
    .option('--consumer <name>', 'who the new sandbox is for')
    .option('--account <account>', 'the credits account that pays')
    .option('--json', 'print the sandbox record as JSON')
    .action(async (ref: string, _options, command: Command) =>
      (await import('./commands/restore.js')).restore(ref, merged(command) as RestoreCliOptions),
    );
}
