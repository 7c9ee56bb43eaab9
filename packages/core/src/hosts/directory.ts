import { InputError } from '../errors.js';
import type { HostTarget } from '../records/host-target.js';
import { type HostFlags, type HostPool, loadHostsFile, resolvePool, resolveRemoteHost } from './resolve.js';

/** Where the hosts a request names come from: the hosts file, and the caller's SSH flags. */
export interface HostDirectory {
  /** The request's host (or, for undefined, the hosts file's default) as an extension needs it. */
  resolve(name: string | undefined): Promise<HostTarget | undefined>;
  /** Every alias of the hosts file: gc scans them, and a confined caller may name only these (or a pool). */
  aliases(): Promise<string[]>;
  /** The pool a name (or, for undefined, the default) names, if it is one (no method: no pools). */
  pool?(name: string | undefined): Promise<HostPool | undefined>;
  /** Every pool's name. */
  pools?(): Promise<string[]>;
}

/** No hosts file: only `local` (or nothing) is understood. */
export const localOnly: HostDirectory = {
  async resolve(name) {
    if (name === undefined || name === 'local') return undefined;
    throw new InputError(`host: unknown host "${name}": no hosts are configured (use "local" or name none)`, {
      field: 'host',
    });
  },
  async aliases() {
    return [];
  },
  async pool() {
    return undefined;
  },
  async pools() {
    return [];
  },
};

/**
 * The hosts of a hosts file (read when first needed, then kept), and inline `user@address[:port]`
 * hosts verified with the caller's flags. Without a file, only inline hosts and `local`.
 */
export function hostsFromFile(path: string | undefined, flags: HostFlags, cwd: string): HostDirectory {
  let file: ReturnType<typeof loadHostsFile> | undefined;
  const load = () => {
    if (!path) return Promise.resolve(undefined);
    file ??= loadHostsFile(path, cwd);
    // A broken file must not stay cached as broken: the next call reads it again.
    file.catch(() => {
      file = undefined;
    });
    return file;
  };
  return {
    async resolve(name) {
      if (name === 'local') return undefined;
      return resolveRemoteHost(name, await load(), flags, cwd);
    },
    async aliases() {
      return Object.keys((await load())?.hosts ?? {});
    },
    async pool(name) {
      if (name === 'local') return undefined;
      return resolvePool(name, await load(), flags, cwd);
    },
    async pools() {
      return Object.keys((await load())?.pools ?? {});
    },
  };
}
