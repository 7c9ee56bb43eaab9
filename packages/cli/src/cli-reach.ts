import { type Command, Option } from 'commander';
import { collect, merged, recordOption } from './cli-options.js';
import type { ForwardOptions } from './commands/forward.js';
import type { LogsOptions } from './commands/logs.js';

/** Commander wiring of the commands that reach a ready sandbox: forward, keep, exec, logs, ssh. */
export function registerReachCommands(program: Command): void {
  program
    .command('forward <sandbox> [ports...]')
    .description(
      "forward a ready sandbox's ports (service:port, or host:port on a VM; all published ones by default) to 127.0.0.1",
    )
    .option('--local <port>', 'the local port for each name, in order (default: a free one)', collect, [])
    .option('--detach', 'leave a keeper process forwarding in the background; destroy stops it')
    .addOption(new Option('--keeper <sandbox>').hideHelp())
    .addOption(recordOption())
    .option('--json', 'print the URLs as JSON')
    .action(async (id: string, ports: string[], _options, command: Command) =>
      (await import('./commands/forward.js')).forward(id, ports, merged(command) as ForwardOptions),
    );

  program
    .command('keep <sandbox>')
    .description("renew a sandbox's lease until Ctrl-C (or in the background with --detach, until destroy)")
    .option('--detach', 'leave a keeper process renewing in the background; destroy stops it')
    .addOption(new Option('--keeper <sandbox>').hideHelp())
    .option('--json', 'print the keeper as JSON (with --detach)')
    .action(async (id: string, _options, command: Command) =>
      (await import('./commands/keep.js')).keep(id, merged(command)),
    );

  program
    .command('exec <sandbox> [command...]')
    .description(
      'run a command in the sandbox (its workspace, or a service with --service); exits with its code',
    )
    .option('--service <service>', 'run it inside this compose service')
    .addOption(recordOption())
    .action(async (id: string, argv: string[], _options, command: Command) =>
      (await import('./commands/exec.js')).exec(id, argv, merged(command)),
    );

  program
    .command('logs <sandbox> [services...]')
    .description("each service's log (all services by default)")
    .option('-f, --follow', 'keep streaming new lines until Ctrl-C')
    .option('--tail <lines>', 'lines per service from the end', '100')
    .option('--since <when>', 'only lines newer than this: a duration (10m) or a timestamp')
    .addOption(recordOption())
    .option('--json', 'print [{service, text}] (with --follow, one {service, text} per line)')
    .action(async (id: string, services: string[], _options, command: Command) =>
      (await import('./commands/logs.js')).logs(id, services, merged(command) as LogsOptions),
    );

  program
    .command('ssh <sandbox> [command...]')
    .description("a shell on the sandbox's host, in its directory (or one command, after --)")
    .addOption(recordOption())
    .action(async (id: string, argv: string[], _options, command: Command) =>
      (await import('./commands/ssh.js')).ssh(id, argv, merged(command)),
    );
}
