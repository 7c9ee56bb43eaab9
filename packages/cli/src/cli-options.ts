import { type Command, Option, type OptionValues } from 'commander';

/** Pieces the command wiring modules share. */

/** A command's options with the global ones: those are accepted before or after the command name. */
export function merged(command: Command): OptionValues {
  const options = command.optsWithGlobals();
  // A --state that was only a `list --state <state>` filter leaves '' behind (commander's value for
  // an option whose parser kept nothing): no state store was named.
  if (options.state === '') delete options.state;
  return options;
}

/** For repeatable options (`--input a=1 --input b=2`). */
export function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** `--record`: for commands that work on a sandbox another machine made. */
export const recordOption = () =>
  new Option(
    '--record <file-or-json>',
    "the sandbox's record, when this machine's state does not have it (e.g. printed by the action)",
  );

/**
 * Commander checks required options before unknown ones, so `create --proflie x` would say
 * "required option '-p' not specified" instead of suggesting `--profile`. Required options are
 * therefore checked here, in a preAction hook, which runs after the unknown-option check (with its
 * "Did you mean …?"). Same message and exit code as commander's own check.
 */
export function checkRequiredAfterUnknown(program: Command): void {
  const required = new Map<Command, Option[]>();
  const visit = (command: Command) => {
    const options = command.options.filter((o) => o.mandatory);
    for (const option of options) option.mandatory = false;
    if (options.length > 0) required.set(command, options);
    command.commands.forEach(visit);
  };
  visit(program);
  program.hook('preAction', (_program, command) => {
    for (const option of required.get(command) ?? []) {
      if (command.getOptionValue(option.attributeName()) === undefined) {
        command.error(`error: required option '${option.flags}' not specified`, {
          code: 'commander.missingMandatoryOptionValue',
        });
      }
    }
  });
}

/** The states a sandbox record can be in (`list --state`). */
export const SANDBOX_STATES = ['provisioning', 'ready', 'destroying', 'destroyed', 'failed'] as const;
export type SandboxStateName = (typeof SANDBOX_STATES)[number];

export function isSandboxState(text: string): text is SandboxStateName {
  return (SANDBOX_STATES as readonly string[]).includes(text);
}
