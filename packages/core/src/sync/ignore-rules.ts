import { lstatSync, readFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import ignore from 'ignore';
import { InputError } from '../errors.js';

/** Never copied into a sandbox: VCS metadata and installed dependencies are rebuilt where needed. */
export const ALWAYS_EXCLUDED = ['.git', 'node_modules'] as const;

/** The file in a repo's root that lists more paths to leave out, in .gitignore syntax. */
export const IGNORE_FILE = '.sandboxerignore';

/** The exclusion rules for one repo: the fixed ones plus its `.sandboxerignore`. */
export interface RepoIgnore {
  patterns: string[];
  /** True when `path` (absolute, inside the repo) must not be synced. */
  ignores(path: string): boolean;
}

export function loadRepoIgnore(repoDir: string): RepoIgnore {
  const extraFile = join(repoDir, IGNORE_FILE);
  // Read only as the repo's own regular file: a symlink could make its lines (filter rules sent to
  // the host) come from any file this process can read.
  const info = lstatSync(extraFile, { throwIfNoEntry: false });
  if (info && !info.isFile()) {
    throw new InputError(
      `${extraFile} is ${info.isSymbolicLink() ? 'a symbolic link' : 'not a regular file'}: ${IGNORE_FILE} must be a plain file in the repo`,
      { file: extraFile },
    );
  }
  const extra = info
    ? readFileSync(extraFile, 'utf8')
        .split(/\r?\n/)
        .map((line) => line.trim())
        .filter((line) => line && !line.startsWith('#'))
    : [];
  // The fixed exclusions come last so that no `!` line in .sandboxerignore can re-include them.
  const patterns = [...extra, ...ALWAYS_EXCLUDED];
  const matcher = ignore().add(patterns);
  return {
    patterns,
    ignores(path) {
      const rel = relative(repoDir, path);
      if (!rel) return false;
      return matcher.ignores(rel.split(sep).join('/'));
    },
  };
}
