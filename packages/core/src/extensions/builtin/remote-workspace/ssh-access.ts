import { InputError } from '../../../errors.js';
import type { SandboxHandle } from '../../../records/handle.js';
import type { HostTarget, RemoteHost, SshTarget } from '../../../records/host-target.js';
import { knownHostsLine } from '../../../ssh/known-hosts.js';
import { type SessionOptions, SshSession, withSession } from '../../../ssh/session.js';
import { destination } from '../../../ssh/target.js';
import type { RsyncKey } from '../../../sync/request.js';
import type { ExtensionRuntime, LoginTarget } from '../../contract.js';

/**
 * How an SSH extension reaches its hosts: with the key text its caller handed over (the action's
 * `ssh-key`), else each host's identity file; warnings go where the caller said. Nothing here reads
 * the environment: the composition root passes the key in.
 */
export class SshAccess {
  readonly #key: string | undefined;
  readonly #warn: (message: string) => void;

  constructor(runtime: Pick<ExtensionRuntime, 'sshKey' | 'warn'>) {
    this.#key = runtime.sshKey || undefined;
    this.#warn = runtime.warn ?? ((message) => process.stderr.write(`${message}\n`));
  }

  get sessionOptions(): SessionOptions {
    return { ...(this.#key ? { keyText: this.#key } : {}), warn: this.#warn };
  }

  /** Opens a session; a failure here means nothing ran on the host (SshError phase `connect`). */
  open(target: SshTarget): Promise<SshSession> {
    return SshSession.open(target, this.sessionOptions);
  }

  /** Opens a session, runs `fn`, and always closes it. */
  with<T>(target: SshTarget, fn: (session: SshSession) => Promise<T>): Promise<T> {
    return withSession(target, this.sessionOptions, fn);
  }

  /** How ssh(1) logs in to `target`: the host key verified by connecting now, and the key to use. */
  async loginTarget(target: SshTarget, dir: string): Promise<LoginTarget> {
    const hostKey = await this.with(target, async (session) => session.hostKey);
    return {
      ssh: target,
      knownHostsLine: knownHostsLine(target.address, target.port, hostKey),
      dir,
      key: this.rsyncKey(target),
    };
  }

  /** The key for rsync's own ssh: the given text, else the host's identity file as it is (no copy). */
  rsyncKey(target: SshTarget): RsyncKey {
    if (this.#key) return { text: this.#key };
    if (!target.identity_file) {
      throw new InputError(
        `no SSH key for ${destination(target)}: give one (an identity file, or the key itself)`,
        {
          field: 'ssh_key',
        },
      );
    }
    return { file: target.identity_file };
  }
}

/** The RemoteHost an SSH extension works on, from a provision request or from a stored handle. */
export function remoteHostOf(host: HostTarget | undefined, extensionId: string): RemoteHost {
  const candidate = host as RemoteHost | undefined;
  if (!candidate?.ssh?.address) {
    throw new InputError(
      `host: ${extensionId} needs a host reached over SSH (user@address[:port] or a hosts-file alias)`,
      { field: 'host' },
    );
  }
  return candidate;
}

/** The handle's target, for teardown and wait-ready in any process. */
export function hostOfHandle(handle: SandboxHandle, extensionId: string): RemoteHost {
  return remoteHostOf(handle.target as HostTarget | undefined, extensionId);
}

/**
 * The sessions provisions opened, kept for the waitReady (or rollback) that follows in the same
 * process, so a create needs one connection for its commands. A kept session whose connection has
 * dropped is never handed out again.
 */
export class SessionPool {
  readonly #sessions = new Map<string, SshSession>();
  readonly #access: SshAccess;

  constructor(access: SshAccess) {
    this.#access = access;
  }

  keep(sandboxId: string, session: SshSession): void {
    this.#sessions.set(sandboxId, session);
  }

  /** The kept session if it is still connected, else a new one; either way it is no longer kept. */
  async take(sandboxId: string, target: SshTarget): Promise<SshSession> {
    const kept = this.#sessions.get(sandboxId);
    this.#sessions.delete(sandboxId);
    if (kept?.alive) return kept;
    kept?.close();
    return this.#access.open(target);
  }

  /** Forgets a session its user has closed. */
  drop(sandboxId: string): void {
    this.#sessions.delete(sandboxId);
  }
}
