import { existsSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { InputError } from '@sand-boxer/core/errors';
import type { ContextOptions } from './context.js';

/**
 * `-p ./profiles/profile.web.yaml`: a profile named by its file. It is loaded with the declarations
 * of the directory that holds its `profiles/` folder (as `--config-dir` would), so the extensions
 * next to it are found too; the command then works with the profile's id. A plain id passes through.
 */
export function resolveProfileFlag<T extends ContextOptions & { profile: string }>(options: T): T {
  const { profile } = options;
  if (!/[/\\]|\.ya?ml$/.test(profile)) return options;
  const file = resolve(profile);
  if (!existsSync(file)) {
    throw new InputError(
      `--profile ${profile}: no such file (give a profile id such as saas-stub, or a path)`,
      {
        field: 'profile',
      },
    );
  }
  const match = /^profile\.([a-z0-9][a-z0-9-]*)\.ya?ml$/.exec(basename(file));
  if (!match || basename(dirname(file)) !== 'profiles') {
    throw new InputError(
      `--profile ${profile}: a profile file is <dir>/profiles/profile.<name>.yaml (its id is profile.<name>); move it there or pass --config-dir <dir> and the id`,
      { field: 'profile' },
    );
  }
  if (options.server) {
    throw new InputError(
      `--profile ${profile}: a server knows its own profiles; name one by id (see \`sandboxer profiles\`)`,
      {
        field: 'profile',
      },
    );
  }
  const configDir = dirname(dirname(file));
  if (options.configDir !== undefined && resolve(options.configDir) !== configDir) {
    throw new InputError(
      `--profile ${profile} lies outside --config-dir ${options.configDir}: drop one of them`,
      { field: 'profile' },
    );
  }
  return { ...options, profile: `profile.${match[1]}`, configDir };
}
