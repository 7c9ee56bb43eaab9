import { InputError } from '../errors.js';
import { newSandboxId } from './ids.js';

const SNAPSHOT_ID = /^snap-[a-z0-9]{12}$/;
const SNAPSHOT_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** `snap-` and 12 characters of [a-z0-9]: safe in a path and a shell word, told apart from a sandbox id. */
export function newSnapshotId(): string {
  return `snap-${newSandboxId()}`;
}

export function isSnapshotId(text: string): boolean {
  return SNAPSHOT_ID.test(text);
}

/**
 * A snapshot's optional name (e.g. `before-migration`): letters, digits, `.`, `_`, `-`, at most 64,
 * not starting with a punctuation mark, so it is safe anywhere it is shown or typed.
 */
export function parseSnapshotName(text: string): string {
  if (!SNAPSHOT_NAME.test(text) || isSnapshotId(text)) {
    throw new InputError(
      `name ${JSON.stringify(text)}: expected up to 64 letters, digits, ".", "_" or "-", starting with a letter or digit (and not shaped like a snapshot id)`,
      { field: 'name' },
    );
  }
  return text;
}
