import { existsSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * The `.sandboxer/` directory for a working directory, found as git finds `.git`: in `cwd` or the
 * nearest parent, but never above the repository root (the first directory holding `.git`). Outside
 * a repository only `cwd` itself is looked at, so a `~/.sandboxer` state directory is never taken
 * for declarations.
 */
export function findConfigDir(cwd: string): string | undefined {
  const own = join(cwd, '.sandboxer');
  if (isDir(own)) return own;
  if (insideRepo(cwd) === undefined) return undefined;
  for (let dir = cwd; ; ) {
    const candidate = join(dir, '.sandboxer');
    if (isDir(candidate)) return candidate;
    if (existsSync(join(dir, '.git'))) return undefined;
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

/** The repository root above (or at) `cwd`, if any. */
function insideRepo(cwd: string): string | undefined {
  for (let dir = cwd; ; ) {
    if (existsSync(join(dir, '.git'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

function isDir(path: string): boolean {
  return statSync(path, { throwIfNoEntry: false })?.isDirectory() ?? false;
}
