import { accessSync, constants } from 'node:fs';
import { InputError } from '../../../errors.js';
import type { SandboxHandle } from '../../../records/handle.js';
import type { HostTarget, RemoteHost, SshTarget } from '../../../records/host-target.js';
import { knownHostsLine } from '../../../ssh/known-hosts.js';
import { type SessionOptions, SshSession, withSession } from '../../../ssh/session.js';
import { destination } from '../../../ssh/target.js';
import type { ExtensionRuntime, LoginTarget } from '../../contract.js';

/**
 * How an SSH extension reaches its hosts: with the key text its caller handed over (the action's
 * `ssh-key`), else each host's identity file; warnings go where the caller said. Nothing here reads
 * the environment: the composition root passes the key in.
 */
export class SshAccess {
  readonly #key: string | undefined;
  readonly #agent: string | undefined;
  readonly #override: Partial<SshTarget>;
  readonly #warn: (message: string) => void;

  constructor(runtime: Pick<ExtensionRuntime, 'sshKey' | 'sshAgent' | 'sshOverride' | 'warn'>) {
    this.#key = runtime.sshKey || undefined;
    this.#agent = runtime.sshAgent || undefined;
    this.#override = runtime.sshOverride ?? {};
    this.#warn = runtime.warn ?? ((message) => process.stderr.write(`${message}\n`));
  }

  get sessionOptions(): SessionOptions {
    return {
      ...(this.#key ? { keyText: this.#key } : {}),
      ...(this.#agent ? { agent: this.#agent } : {}),
      warn: this.#warn,
    };
  }

  /**
   * The target with this invocation's SSH flags in place of its stored settings; a host-key flag
   * replaces the whole host-key policy (known_hosts, fingerprint, insecure), as on the command line.
   */
  target(stored: SshTarget): SshTarget {
    // The override holds only the flags given (see hosts/resolve.ts sshFlags).
    const o = this.#override;
    const verifies = o.known_hosts !== undefined || o.fingerprint !== undefined || o.insecure_ignore_host_key;
    if (!verifies && o.identity_file === undefined) return stored;
    const { known_hosts: _k, fingerprint: _f, insecure_ignore_host_key: _i, ...rest } = stored;
    return { ...(verifies ? rest : stored), ...o };
  }

  /**
   * Whether this process can log in to the host at all: key text, else a readable identity file,
   * else an ssh-agent. Checked before anything is recorded (a usage error, exit 2 on the CLI).
   */
  checkAccess(stored: SshTarget): void {
    const target = this.target(stored);
    const key = this.#keyFor(target);
    if (!('file' in key)) return;
    try {
      accessSync(key.file, constants.R_OK);
    } catch (error) {
      throw new InputError(
        `cannot read SSH key file ${key.file} for ${destination(target)}: ${(error as NodeJS.ErrnoException).code ?? 'unreadable'}`,
        { field: 'ssh_key' },
      );
    }
  }

  /** Opens a session; a failure here means nothing ran on the host (SshError phase `connect`). */
  open(target: SshTarget): Promise<SshSession> {
    return SshSession.open(this.target(target), this.sessionOptions);
  }

  /** Opens a session, runs `fn`, and always closes it. */
  with<T>(target: SshTarget, fn: (session: SshSession) => Promise<T>): Promise<T> {
    return withSession(this.target(target), this.sessionOptions, fn);
  }

  /** How ssh(1) logs in to `target`: the host key verified by connecting now, and the key to use. */
  async loginTarget(stored: SshTarget, dir: string): Promise<LoginTarget> {
    const target = this.target(stored);
    const [hostKey, jumpKey] = await this.with(target, async (session) => [
      session.hostKey,
      session.jump?.hostKey,
    ]);
    return {
      ssh: target,
      knownHostsLine: knownHostsLine(target.address, target.port, hostKey as Buffer),
      ...(target.jump && jumpKey
        ? { jumpKnownHostsLine: knownHostsLine(target.jump.address, target.jump.port, jumpKey) }
        : {}),
      dir,
      key: this.#keyFor(target),
    };
  }

  /** How to log in, in this order: the key text given, the host's identity file, the ssh-agent. */
  #keyFor(target: SshTarget): LoginTarget['key'] {
    if (this.#key) return { text: this.#key };
    if (target.identity_file) return { file: target.identity_file };
    if (this.#agent) return { agent: this.#agent };
    throw new InputError(
      `no SSH key for ${destination(target)}: give one (an identity file, identity_file in the hosts file, the key itself, or an ssh-agent in SSH_AUTH_SOCK)`,
      { field: 'ssh_key' },
    );
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
