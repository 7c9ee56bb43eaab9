import type { Command } from 'commander';
import { merged } from './cli-options.js';
import type { StateImportOptions } from './commands/state.js';

/** Commander wiring of what operators run: the hosts and pools, the state store, shell completion. */
export function registerAdminCommands(program: Command): void {
  program
    .command('completion <shell>')
    .description('a completion script for bash, zsh or fish, e.g. eval "$(sandboxer completion bash)"')
    .action(async (shell: string) => (await import('./commands/completion.js')).completion(shell, program));

  const hosts = program
    .command('hosts')
    .description('the hosts and pools of the hosts file: load, health, drain (--json)')
    .option('--json', 'print hosts and pools as JSON')
    .action(async (_options, command: Command) =>
      (await import('./commands/hosts.js')).hosts(merged(command)),
    );
  hosts
    .command('probe [host]')
    .description(
      "free disk and memory of a host, a pool's hosts, or every host; one that answers is healthy again",
    )
    .option('--json', 'print what each host said as JSON')
    .action(async (name: string | undefined, _options, command: Command) =>
      (await import('./commands/hosts.js')).probe(name, merged(command)),
    );
  for (const [action, drained] of [
    ['drain', true],
    ['undrain', false],
  ] as const) {
    hosts
      .command(`${action} <host>`)
      .description(
        drained ? 'no new sandboxes on this host; those there live on' : 'the host takes new sandboxes again',
      )
      .option('--json', 'print its status as JSON')
      .action(async (host: string, _options, command: Command) =>
        (await import('./commands/hosts.js')).drain(host, drained, merged(command)),
      );
  }

  const state = program
    .command('state')
    .description('the state store: database migrations, importing a file store');
  state
    .command('migrate')
    .description('bring the database schema of --state up to date (also done on every start)')
    .option('--json', 'print the migrations applied as JSON')
    .action(async (_options, command: Command) =>
      (await import('./commands/state.js')).migrate(merged(command)),
    );
  state
    .command('import')
    .description("copy a file store's sandboxes, snapshots and ledger into --state (safe to repeat)")
    .requiredOption('--from <dir>', 'the state directory to copy from (a $SANDBOXER_HOME)')
    .option('--json', 'print what was copied as JSON')
    .action(async (_options, command: Command) =>
      (await import('./commands/state.js')).importState(merged(command) as StateImportOptions),
    );
}
