import { basename } from 'node:path';
import { ConfigError } from '../errors.js';
import { type Profile, profileDeclarationSchema } from './profile-schema.js';
import { type DeclarationSource, parseDeclaration } from './read.js';

export interface LoadedProfile {
  profile: Profile;
  source: DeclarationSource;
}

const FILE_NAME = /^(profile\.[a-z0-9][a-z0-9-]*)\.ya?ml$/;

/** Parses `profile.<slug>.yaml`; the profile id is `profile.<slug>`, taken from the file name. */
export function loadProfile(source: DeclarationSource): LoadedProfile {
  const id = FILE_NAME.exec(basename(source.displayPath))?.[1];
  if (!id) {
    throw new ConfigError(
      `${source.displayPath}: a profile file must be named profile.<slug>.yaml with a slug of lower-case letters, digits and dashes`,
      { file: source.displayPath },
    );
  }
  const declaration = parseDeclaration(source, profileDeclarationSchema);
  return { profile: { id, ...declaration }, source };
}

/** `saas-stub` and `profile.saas-stub` both name the same profile. */
export function normalizeProfileId(text: string): string {
  return text.startsWith('profile.') ? text : `profile.${text}`;
}
