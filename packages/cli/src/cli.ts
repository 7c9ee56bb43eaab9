import { readFileSync } from 'node:fs';
import { Command, Option } from 'commander';
import { registerAdminCommands } from './cli-admin.js';
import { checkRequiredAfterUnknown, collect, isSandboxState, merged, recordOption } from './cli-options.js';
import { registerReachCommands } from './cli-reach.js';
import { registerSnapshotCommands } from './cli-snapshots.js';
import type { CreateOptions } from './commands/create.js';
import type { ExportOptions } from './commands/credits.js';
import type { GcCliOptions } from './commands/gc.js';
import type { RouteOptions } from './commands/route.js';
import type { ServeOptions } from './commands/serve.js';

/**
 * Commander wiring only: each action lazily imports its command module, so `--version` and `--help`
 * load nothing but commander (fast start-up).
 */
export function buildProgram(): Command {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  const program = new Command('sandboxer')
    .description('Throwaway sandboxes on demand, guaranteed to be torn down.')
    .version(pkg.version, '-V, --version')
    .addOption(
      new Option(
        '--server <url>',
        "a team's `sandboxer serve` to work through (create, list, status, destroy, extend, credits, snapshot, restore, route, estimate)",
      ).env('SANDBOXER_SERVER'),
    )
    .addOption(
      new Option('--token <token>', 'the bearer token for --server (prefer the environment variable)').env(
        'SANDBOXER_TOKEN',
      ),
    )
    .addOption(new Option('--home <dir>', 'state directory').env('SANDBOXER_HOME'))
    .addOption(
      new Option(
        '--state <url-or-dir>',
        "where sandboxes, snapshots and the ledger live: postgres://user:password@host/db (a team's shared database) or a directory (default: --home)",
      )
        .env('SANDBOXER_STATE')
        // `list --state ready` filters by a sandbox's state; commander hands every --state to this
        // global option, so a sandbox state's name is set aside as the filter (a directory named
        // like one is written ./ready).
        .argParser((value: string, previous: string | undefined) => {
          if (!isSandboxState(value)) return value;
          program.setOptionValue('stateFilter', value);
          return previous;
        }),
    )
    .addOption(
      new Option(
        '--config-dir <dir>',
        'your declarations (extensions/, profiles/); default .sandboxer/ here or up to the repository root',
      ).env('SANDBOXER_CONFIG_DIR'),
    )
    .addOption(
      new Option(
        '--hosts-file <file>',
        'SSH hosts, their aliases and pools; default .sandboxer/hosts.yaml here or up to the repository root',
      ).env('SANDBOXER_HOSTS'),
    )
    .option('--identity-file <file>', 'SSH private key (or put the key text in SANDBOXER_SSH_KEY)')
    .option(
      '--known-hosts <file>',
      'known_hosts file to verify the host key against (default ~/.ssh/known_hosts)',
    )
    .option('--host-fingerprint <sha256>', 'pin the host key: SHA256:… as printed by ssh-keygen -lf')
    .option('--insecure-ignore-host-key', 'do not verify the host key (prints a warning)')
    .addOption(
      new Option(
        '--compose-command <command>',
        "the compose runtime on compose hosts, e.g. docker-compose or podman-compose (default: the extension's, auto: the first the host has)",
      ).env('SANDBOXER_COMPOSE_CMD'),
    )
    .option('--json', 'print one JSON document on stdout')
    .option('-q, --quiet', 'no progress on stderr (list: only the ids)')
    .option('-v, --verbose', 'progress on stderr even when it is not a terminal')
    .showHelpAfterError()
    .exitOverride();

  program
    .command('create')
    .description('create a sandbox and wait until it is ready')
    .requiredOption(
      '-p, --profile <profile>',
      'profile id (saas-stub, profile.compose-e2e) or file (.sandboxer/profiles/profile.web.yaml)',
    )
    .option('-i, --input <key=value>', 'a sandbox input (repeatable)', collect, [])
    .option('--consumer <name>', 'who the sandbox is for (default: user@machine)')
    .option('--host <host>', 'a hosts-file host or pool, user@address[:port], or local')
    .option('--ttl <duration>', "lifetime such as 30m, 1h30m or 1.5h (default: the profile's)")
    .option(
      '--lease <duration>',
      'tear it down when not renewed for this long (e.g. 60s); a background keeper renews it until destroy',
    )
    .option('--account <account>', 'the credits account that pays (default: derived from --consumer)')
    .option(
      '--wait-for <check>',
      'also wait until this holds: http://service:port/path, tcp://service:port or log://service/pattern/ (repeatable)',
      collect,
      [],
    )
    .option('--json', 'print the sandbox record as JSON')
    .action(async (_options, command: Command) =>
      (await import('./commands/create.js')).create(merged(command) as CreateOptions),
    );

  program
    .command('status <sandbox>')
    .description("show one sandbox's record")
    .option('--json', 'print the record as JSON')
    .action(async (id: string, _options, command: Command) =>
      (await import('./commands/status.js')).status(id, merged(command)),
    );

  program
    .command('list')
    .description('list live sandboxes')
    .option('-a, --all', 'include destroyed and failed sandboxes')
    .option(
      '--state <state>',
      'only sandboxes in this state (provisioning, ready, destroying, destroyed, failed)',
    )
    .option('--profile <profile>', 'only sandboxes of this profile')
    .option('--consumer <name>', 'only sandboxes for this consumer')
    .option('--json', 'print an array of records as JSON')
    .addHelpText(
      'after',
      '\nWith -q (--quiet), only the ids, one per line (e.g. for xargs sandboxer destroy).',
    )
    .action(async (_options, command: Command) => (await import('./commands/list.js')).list(merged(command)));

  program
    .command('destroy <sandbox>')
    .description('tear a sandbox down (safe to repeat)')
    .addOption(recordOption())
    .option('--json', 'print the final record as JSON')
    .action(async (id: string, _options, command: Command) =>
      (await import('./commands/destroy.js')).destroy(id, merged(command)),
    );

  registerReachCommands(program);

  program
    .command('estimate')
    .description('what a sandbox of a profile would cost, without creating it')
    .requiredOption('-p, --profile <profile>', 'profile id')
    .option('--ttl <duration>', "lifetime to price (default: the profile's)")
    .option('--json', 'print the quote as JSON')
    .action(async (_options, command: Command) =>
      (await import('./commands/estimate.js')).estimate(merged(command) as { profile: string }),
    );

  program
    .command('route')
    .description('decide where a create would go (routing candidates, credits, capacity), without creating')
    .requiredOption('-p, --profile <profile>', 'profile id')
    .option('-i, --input <key=value>', 'a sandbox input (repeatable)', collect, [])
    .option('--host <host>', 'hosts-file alias or user@address[:port] for self-hosted candidates')
    .option('--ttl <duration>', "lifetime (default: the profile's)")
    .option('--consumer <name>', 'who it would be for (chooses the account)')
    .option('--account <account>', 'the credits account')
    .option('--explain', 'show every candidate and why it was chosen or rejected')
    .option('--json', 'print the decision as JSON')
    .action(async (_options, command: Command) =>
      (await import('./commands/route.js')).route(merged(command) as RouteOptions),
    );

  const credits = program.command('credits').description('the credits ledger: balances, grants, history');
  credits
    .command('balance [account]')
    .description('balance, held and available credits (every account when none is named)')
    .option('--json', 'print as JSON')
    .action(async (account: string | undefined, _options, command: Command) =>
      (await import('./commands/credits.js')).balance(account, merged(command)),
    );
  credits
    .command('grant <account> <amount>')
    .description('add credits to an account')
    .option('--note <text>', 'why (kept in the history)')
    .option('--json', 'print the grant and the new balance as JSON')
    .action(async (account: string, amount: string, _options, command: Command) =>
      (await import('./commands/credits.js')).grant(account, amount, merged(command)),
    );
  credits
    .command('export')
    .description('the ledger for finance tools, one row per entry (columns: docs/control-plane.md)')
    .option('--account <account>', 'only this account')
    .option('--since <when>', 'only entries since then: a duration back (30d) or a date (2026-12-01)')
    .requiredOption('--format <format>', 'csv or jsonl')
    .action(async (_options, command: Command) =>
      (await import('./commands/credits.js')).exportCredits(merged(command) as ExportOptions),
    );
  credits
    .command('history [account]')
    .description('the append-only history: grants, holds, releases, debits')
    .option('--json', 'print the entries as JSON')
    .action(async (account: string | undefined, _options, command: Command) =>
      (await import('./commands/credits.js')).history(account, merged(command)),
    );

  program
    .command('serve')
    .description('serve the same manager over HTTP (REST + /openapi.json) until SIGINT/SIGTERM')
    .option('--host <address>', 'address to listen on (non-loopback needs tokens)', '127.0.0.1')
    .option('--port <port>', 'port to listen on (0: any free port)', '7070')
    .option(
      '--token-file <file>',
      'admin bearer tokens, one per line (also: SANDBOXER_API_TOKENS, comma-separated)',
    )
    .option(
      '--auth-file <file>',
      'tokens by account and role (member, admin), and GitHub OIDC rules: see docs/control-plane.md',
    )
    .option(
      '--reap-interval <seconds>',
      'how often to look for sandboxes a dead process left being created or destroyed',
      '10',
    )
    .option('--grace <seconds>', 'on shutdown, how long in-flight operations may take to finish', '30')
    .option('--body-limit <size>', 'the largest request body accepted, e.g. 1m or 256k', '1m')
    .option(
      '--repo-root <dir>',
      'clients may only name repos inside this directory (default: the current one)',
    )
    .action(async (_options, command: Command) =>
      (await import('./commands/serve.js')).serve(merged(command) as ServeOptions),
    );

  program
    .command('extend <sandbox>')
    .description("push a live sandbox's expiry out (at most the profile's max_ttl in all)")
    .requiredOption('--ttl <duration>', 'the sandbox expires this long from now, e.g. 30m or 2h')
    .option('--json', 'print the updated record as JSON')
    .action(async (id: string, _options, command: Command) =>
      (await import('./commands/extend.js')).extend(id, merged(command) as { ttl: string }),
    );

  program
    .command('gc')
    .description(
      'finish stuck and expired sandboxes, release orphaned holds, remove leftovers found on hosts',
    )
    .option('-n, --dry-run', 'report what would be done; change nothing')
    .option(
      '--host <alias>',
      'scan only this host (repeatable; default: every host of the hosts file)',
      collect,
      [],
    )
    .option('--no-hosts', 'do not scan hosts; reconcile the state store only')
    .option('--consumer <name>', "only this consumer's sandboxes (e.g. one CI run's)")
    .option(
      '--unknown',
      'also remove sandboxes found on hosts that this store does not know, before they expire',
    )
    .option(
      '--cache-max-age <duration>',
      "remove hosts' sync caches unused for longer than this (e.g. 7d, 12h)",
      '14d',
    )
    .option('--json', 'print the findings as JSON')
    .action(async (_options, command: Command) =>
      (await import('./commands/gc.js')).gc(merged(command) as GcCliOptions),
    );

  registerSnapshotCommands(program);

  registerAdminCommands(program);

  program
    .command('profiles')
    .description('list the profiles you can create')
    .option('--json', 'print them as JSON')
    .action(async (_options, command: Command) =>
      (await import('./commands/profiles.js')).profiles(merged(command)),
    );

  program
    .command('extensions')
    .description('list the backends and their capabilities')
    .option('--json', 'print them as JSON')
    .action(async (_options, command: Command) =>
      (await import('./commands/extensions.js')).extensions(merged(command)),
    );

  checkRequiredAfterUnknown(program);
  return program;
}
