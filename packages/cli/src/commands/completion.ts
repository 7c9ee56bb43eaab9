import { InputError } from '@sand-boxer/core/errors';
import type { Command } from 'commander';
import { printLine } from '../output.js';

/**
 * `sandboxer completion bash|zsh|fish`: a completion script made from the commander definitions
 * themselves, so it knows every command and option this version has. Arguments named <sandbox> or
 * <snapshot> complete with the ids `sandboxer list -q` / `snapshot list --json` print.
 */
export function completion(shell: string, program: Command): void {
  const commands = flatten(program);
  const globals = longFlags(program);
  const scripts: Record<string, () => string> = {
    bash: () => bash(commands, globals),
    zsh: () => `autoload -U +X bashcompinit && bashcompinit\n${bash(commands, globals)}`,
    fish: () => fish(commands, globals),
  };
  const script = Object.hasOwn(scripts, shell) ? scripts[shell] : undefined;
  if (!script) {
    throw new InputError(`completion: unknown shell ${JSON.stringify(shell)} (bash, zsh or fish)`, {
      field: 'shell',
    });
  }
  printLine(script());
}

interface CommandInfo {
  /** `create`, or `snapshot create` for a subcommand. */
  path: string;
  description: string;
  flags: string[];
  /** Whether its first argument is a sandbox id. */
  takesSandbox: boolean;
}

function flatten(command: Command, prefix = ''): CommandInfo[] {
  return command.commands.flatMap((sub) => {
    const path = `${prefix}${sub.name()}`;
    const own: CommandInfo = {
      path,
      description: sub.description(),
      flags: longFlags(sub),
      takesSandbox: sub.registeredArguments[0]?.name() === 'sandbox',
    };
    return [own, ...flatten(sub, `${path} `)];
  });
}

function longFlags(command: Command): string[] {
  return command.options.flatMap((o) => [o.long, o.short].filter((f): f is string => Boolean(f)));
}

/** Single quotes for a shell word. */
const q = (text: string) => `'${text.replaceAll("'", `'\\''`)}'`;

function bash(commands: CommandInfo[], globals: string[]): string {
  const top = commands.filter((c) => !c.path.includes(' ')).map((c) => c.path);
  const cases = commands
    .map((c) => {
      const words = [
        ...c.flags,
        ...commands
          .filter((s) => s.path.startsWith(`${c.path} `))
          .map((s) => s.path.split(' ').at(-1) as string),
      ];
      return `    ${q(c.path)}) words=${q(words.join(' '))}; ids=${c.takesSandbox ? 1 : 0} ;;`;
    })
    .join('\n');
  return `# sandboxer completion for bash (and zsh via bashcompinit): eval "$(sandboxer completion bash)"
_sandboxer() {
  local cur=\${COMP_WORDS[COMP_CWORD]} path="" i words ids=0
  for ((i = 1; i < COMP_CWORD; i++)); do
    case \${COMP_WORDS[i]} in -*) ;; *) [[ -z $path ]] && path=\${COMP_WORDS[i]} || path="$path \${COMP_WORDS[i]}" ;; esac
  done
  case $path in
    '') words=${q(top.join(' '))} ;;
${cases}
    *) words="" ;;
  esac
  words="$words ${globals.join(' ')}"
  if [[ $ids == 1 && $cur != -* ]]; then words="$words $(sandboxer list -q 2>/dev/null)"; fi
  COMPREPLY=($(compgen -W "$words" -- "$cur"))
}
complete -F _sandboxer sandboxer`;
}

function fish(commands: CommandInfo[], globals: string[]): string {
  const lines = [
    '# sandboxer completion for fish: sandboxer completion fish | source',
    'complete -c sandboxer -f',
  ];
  for (const c of commands.filter((c) => !c.path.includes(' '))) {
    lines.push(`complete -c sandboxer -n __fish_use_subcommand -a ${q(c.path)} -d ${q(c.description)}`);
  }
  for (const c of commands) {
    const words = c.path.split(' ');
    const condition = `__fish_seen_subcommand_from ${words.at(-1)}`;
    for (const flag of c.flags.filter((f) => f.startsWith('--'))) {
      lines.push(`complete -c sandboxer -n ${q(condition)} -l ${flag.slice(2)}`);
    }
    if (c.takesSandbox) {
      lines.push(`complete -c sandboxer -n ${q(condition)} -a '(sandboxer list -q 2>/dev/null)'`);
    }
    for (const sub of commands.filter(
      (s) => s.path.startsWith(`${c.path} `) && s.path.split(' ').length === words.length + 1,
    )) {
      lines.push(
        `complete -c sandboxer -n ${q(condition)} -a ${q(sub.path.split(' ').at(-1) as string)} -d ${q(sub.description)}`,
      );
    }
  }
  for (const flag of globals.filter((f) => f.startsWith('--')))
    lines.push(`complete -c sandboxer -l ${flag.slice(2)}`);
  return lines.join('\n');
}
