import { randomBytes } from 'node:crypto';
import { InputError } from '../errors.js';

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';
const ID_LENGTH = 12;
const ID_PATTERN = /^[a-z0-9]{12}$/;

/**
 * A new sandbox id: 12 characters of [a-z0-9]. Lower case because it becomes part of a compose
 * project name (`sbx-<id>`), which Docker requires to be lower case; no other characters so it is
 * always safe in a path and a shell word.
 */
export function newSandboxId(): string {
  let id = '';
  while (id.length < ID_LENGTH) {
    for (const byte of randomBytes(ID_LENGTH)) {
      // 36 does not divide 256: skip the top of the byte range so every character is equally likely.
      if (byte < 252 && id.length < ID_LENGTH) id += ALPHABET[byte % 36];
    }
  }
  return id;
}

/** Accepts `abc…` or `sbx-abc…` as the user may paste either; rejects anything else. */
export function parseSandboxId(text: string): string {
  const id = text.startsWith('sbx-') ? text.slice(4) : text;
  if (!ID_PATTERN.test(id)) {
    throw new InputError(
      `"${text}" is not a sandbox id: expected 12 lower-case letters or digits, optionally prefixed "sbx-"`,
      { field: 'sandbox', input: text },
    );
  }
  return id;
}

export function isSandboxId(text: string): boolean {
  return ID_PATTERN.test(text);
}
