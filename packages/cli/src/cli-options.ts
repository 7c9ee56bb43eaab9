import { type Command, Option } from 'commander';

/** Pieces the command wiring modules share. */

/** A command's options with the global ones: those are accepted before or after the command name. */
export const merged = (command: Command) => command.optsWithGlobals();

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
