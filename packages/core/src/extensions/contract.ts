import type { Duplex, Readable } from 'node:stream';
import type { ExtensionDeclaration } from '../declarations/extension-schema.js';
import type { Profile } from '../declarations/profile-schema.js';
import type { CleanupReport, Reachability, SandboxHandle } from '../records/handle.js';
import type { HostTarget, SshTarget } from '../records/host-target.js';
import type { MeterActual, MeterQuote, Usage } from '../records/metering.js';
import type { SnapshotContents, SnapshotLocation, SnapshotRecord } from '../records/snapshot.js';
import type { CreatePhase } from '../records/timings.js';

/** A step of a long operation, shown as progress on stderr (never secret). */
export type ProgressFn = (message: string) => void;

/** Common to every call: cancellation and progress. */
export interface OperationOptions {
  signal?: AbortSignal;
  progress?: ProgressFn;
}

/** The raw inputs of a sandbox: profile defaults merged with the user's, strings on the wire. */
export type RawInputs = Record<string, string>;

/**
 * `Inputs` is what the extension's `validateInputs` returns: its inputs parsed and typed once, before
 * anything is created, and handed back unchanged to `provision` and `restore`.
 */
export interface ProvisionRequest<Inputs = unknown> extends OperationOptions {
  sandboxId: string;
  profile: Profile;
  /** What `validateInputs` returned for this sandbox's inputs. */
  inputs: Inputs;
  host: HostTarget | undefined;
  createdAt: Date;
  expiresAt: Date;
  /**
   * With a lease: the sandbox is torn down where it runs when the lease has not been renewed
   * (`renewLease`) for this many seconds, or at `expiresAt`, whichever comes first.
   */
  leaseSeconds?: number;
  /** Marks the end of a phase of the create (records/timings.ts), for the record's `timings`. */
  phase?: (phase: CreatePhase) => void;
  /**
   * Saves a partial handle before the extension makes anything that a minimal handle could not find
   * again (e.g. a workspace under an input-chosen directory), so a rollback or a later destroy in
   * another process removes exactly that.
   */
  checkpoint?: (partial: SandboxHandle) => Promise<void>;
}

/**
 * What the process running an extension hands it, chosen by the caller (CLI flags, the action's
 * inputs, `serve`'s options) and passed in explicitly: extensions never read the environment for
 * keys or commands. Never stored in a record, never logged.
 */
export interface ExtensionRuntime {
  /** `$SANDBOXER_HOME`: where an extension may keep local files of its own. */
  home: string;
  /** An SSH private key as text, used instead of identity files (the action's `ssh-key`). */
  sshKey?: string;
  /**
   * An ssh-agent socket (`$SSH_AUTH_SOCK`), used when neither key text nor the host's identity file
   * is given: the keys the user already has loaded.
   */
  sshAgent?: string;
  /**
   * SSH settings of this invocation (`--identity-file`, `--known-hosts`, `--host-fingerprint`,
   * `--insecure-ignore-host-key`) that replace a stored sandbox's: `destroy <id> --identity-file F`
   * logs in with F, whatever key created it. A host-key setting replaces the whole host-key policy.
   */
  sshOverride?: Partial<SshTarget>;
  /** The compose command for compose hosts (e.g. `docker-compose`), over the declaration's default. */
  composeCommand?: string;
  /** Where warnings go (e.g. a host key that is not verified); stderr by default. */
  warn?: (message: string) => void;
}

/** Passed to a handler's factory once per process. */
export interface ExtensionContext extends ExtensionRuntime {
  declaration: ExtensionDeclaration;
  /** The directory the declaration was loaded from, for resolving relative paths in its config. */
  baseDir: string;
}

/**
 * The contract every backend implements: provision → waitReady → teardown, plus optional
 * capabilities discovered at run time. See docs/extension-sdk.md for a worked example.
 *
 * Rules the conformance suite checks:
 * - `teardown` works from a minimal handle (`{ sandbox_id, host }`) so the manager can roll back a
 *   provision that failed half-way, and succeeds (with `already_gone`) when nothing is left.
 * - `validateInputs` throws an InputError naming the input; it runs before anything is created.
 */
export interface SandboxExtension<Inputs = unknown> {
  readonly id: string;
  /**
   * `local`: runs on this machine and refuses a host. `ssh`: needs a host, resolved from the request's
   * `host`, from `hostFromInputs`, or from the hosts file's default.
   */
  readonly hostKind: 'local' | 'ssh';
  /** For `ssh` extensions whose profile names the host in an input (e.g. vm-packer's `vm`). */
  hostFromInputs?(inputs: RawInputs): string | undefined;
  /**
   * Parses the inputs once, before anything is created: what it returns is exactly what `provision`
   * (or `restore`) receives. Inputs declared `local-path` arrive absolute and checked to be local
   * directories. With `restore`, the workspace comes from a snapshot, so inputs that only feed the
   * initial copy (e.g. `repo`) need not be given. Throws an InputError naming the input.
   */
  validateInputs(inputs: RawInputs, options?: { restore?: boolean }): Inputs;
  provision(request: ProvisionRequest<Inputs>): Promise<SandboxHandle>;
  waitReady(handle: SandboxHandle, options?: OperationOptions): Promise<Reachability>;
  teardown(handle: SandboxHandle, options?: OperationOptions): Promise<CleanupReport>;
  estimateCost?(profile: Profile, durationSeconds: number): MeterQuote;
  meterActual?(handle: SandboxHandle, usage: Usage): MeterActual;
  /**
   * Moves the sandbox's expiry where the extension enforces it itself (the host-side switch of SSH
   * extensions), for `extend`. Returns false when it has already expired there.
   */
  reschedule?(handle: SandboxHandle, expiresAt: Date, options?: OperationOptions): Promise<boolean>;
  /**
   * Renews the sandbox's lease where it is enforced (the host-side switch); false when the sandbox is
   * gone there (its lease lapsed, or it was torn down), so the renewing keeper can stop. An extension
   * without it refuses `lease` at create time.
   */
  renewLease?(handle: SandboxHandle, options?: OperationOptions): Promise<boolean>;
  /** Every sandbox of this extension found on a host (for `gc`), whatever any state store says. */
  findSandboxes?(host: HostTarget, options?: OperationOptions): Promise<HostFinding[]>;
  /**
   * Optional: how much room a host has (free disk under the base dir, available memory), for
   * `sandboxer hosts probe` and pools' floors. Throws when the host cannot be reached.
   */
  probeHost?(host: HostTarget): Promise<HostResources>;
  /**
   * Optional, local and cheap: throws an InputError when this process has no way to log in to the
   * host (no key text, no readable identity file, no ssh-agent). Routing calls it before anything is
   * recorded, so a missing key is a usage error (exit 2), not a failed sandbox.
   */
  checkAccess?(host: HostTarget): void;
  /** Removes the host-side caches it keeps (the sync cache) unused for longer than asked (for `gc`). */
  pruneCaches?(host: HostTarget, options: CachePruneOptions): Promise<CacheFinding[]>;
  /** The last lines of each service's log, streamed to `write` and capped; with `follow`, as they come. */
  logs?(handle: SandboxHandle, options: LogOptions): Promise<void>;
  /**
   * Opens a connection to where the sandbox runs, over which streams reach the ports its host sees
   * (port forwards, readiness checks): one connection for however many streams.
   */
  openChannel?(handle: SandboxHandle): Promise<SandboxChannel>;
  /** Runs a command in the sandbox (its workspace, or one of its services), streaming; resolves its exit code. */
  exec?(handle: SandboxHandle, request: ExecRequest): Promise<number>;
  /** How to log in to the sandbox's host with ssh(1) (`sandboxer ssh`, the action's ssh-config). */
  loginTarget?(handle: SandboxHandle): Promise<LoginTarget>;

  // Snapshots: declared with `capabilities.snapshot: true` and these methods (see docs/snapshots.md).
  /** Captures a consistent checkpoint of a live sandbox into one artifact file. */
  snapshot?(handle: SandboxHandle, request: SnapshotRequest): Promise<SnapshotArtifact>;
  /**
   * Brings a snapshot back, into a new sandbox (`mode: 'new'`, in place of `provision`: the manager
   * then waits for readiness as for any create) or over a live sandbox (`mode: 'in-place'`). The
   * artifact's checksum is verified where it is read, before anything is changed.
   */
  restore?(source: RestoreSource, target: RestoreTarget<Inputs>): Promise<SandboxHandle>;
  /** Copies an artifact this extension keeps elsewhere (on a host) into `localPath`. */
  pullArtifact?(location: SnapshotLocation, localPath: string, options?: OperationOptions): Promise<void>;
  /** Deletes one copy of an artifact; succeeds when it is already gone. */
  deleteArtifact?(location: SnapshotLocation, options?: OperationOptions): Promise<void>;
  /** What keeping an artifact of this size costs (metered backends that charge for storage). */
  snapshotCost?(sizeBytes: number): { credits: number; breakdown: Record<string, number> };
}

export interface CachePruneOptions extends OperationOptions {
  /** Caches whose last use is longer ago than this go. */
  olderThanMinutes: number;
  /** Only say which would go. */
  dryRun?: boolean;
}

/** One cache on a host unused for longer than asked, and what pruneCaches did with it. */
export interface CacheFinding {
  path: string;
  last_used: string;
  size_kib: number;
  /** `in-use`: a create holds it (or touched it meanwhile), so it stays. */
  result: 'removed' | 'in-use' | 'failed' | 'dry-run';
}

/** One sandbox found on a host by `findSandboxes`. */
export interface HostFinding {
  sandbox_id: string;
  /** When it expires according to the host (switch file, marker or labels); absent if unknown. */
  expires_at?: string;
  /** What was found, e.g. `directory /srv/sandboxer/sbx-…`, `container 1a2b…`, `expiry switch`. */
  resources: string[];
}

export interface SnapshotRequest extends OperationOptions {
  snapshotId: string;
  /** What to capture and how to hold services still (the profile's `snapshot` options). */
  capture: Array<'workspace' | 'volumes'>;
  consistency: 'pause' | 'stop';
  /** Where an extension that keeps artifacts on this machine writes it. */
  localPath: string;
}

/** What `snapshot` made: one artifact file, where it is and what is in it. */
export interface SnapshotArtifact {
  location: SnapshotLocation;
  size_bytes: number;
  sha256: string;
  contents: SnapshotContents;
  consistency: 'pause' | 'stop' | 'none';
  paused_ms: number;
  /** The non-secret inputs a restore needs (e.g. compose files and services; never `env`). */
  inputs: Record<string, string>;
}

/** A snapshot to bring back, as the manager hands it over. */
export interface RestoreSource {
  snapshot: SnapshotRecord;
  /** A local copy whose checksum the manager has verified, for a host that has no copy yet. */
  localPath?: string;
  /** Records a new copy the extension made (e.g. uploaded to the target host). */
  addLocation?: (location: SnapshotLocation) => Promise<void>;
}

export type RestoreTarget<Inputs = unknown> =
  | { mode: 'new'; request: ProvisionRequest<Inputs> }
  | ({
      mode: 'in-place';
      handle: SandboxHandle;
      /** The sandbox's own life, for the labels of what is recreated. */
      createdAt: Date;
      expiresAt: Date;
      /**
       * The snapshot's inputs with those given again for this restore (e.g. `env`, whose values are
       * never stored), as `validateInputs(…, { restore: true })` returned them.
       */
      inputs: Inputs;
    } & OperationOptions);

export interface LogOptions extends OperationOptions {
  /** Lines per service, from the end. */
  lines: number;
  /** Bytes per service at most (without `follow`); the rest is dropped (a service can log gigabytes). */
  maxBytes: number;
  /** Only these services (default all). */
  services?: string[];
  /** Only lines newer than this: a duration (`10m`) or a timestamp, as `docker logs --since` takes it. */
  since?: string;
  /** Keep streaming new lines until `signal` aborts. */
  follow?: boolean;
  /** Called with each service's (capped) tail; with `follow`, with every chunk as it comes. */
  write: (service: string, text: string) => void;
}

/** Free disk under a host's base dir and its available memory, as far as the host can tell. */
export interface HostResources {
  free_disk_bytes?: number;
  free_memory_bytes?: number;
}

/** A live connection to where a sandbox runs (see SandboxExtension.openChannel). */
export interface SandboxChannel {
  /** A stream to `host:port` as the sandbox's host sees it (its loopback included). */
  connect(host: string, port: number): Promise<Duplex>;
  /** False once the connection has dropped: open a new one. */
  readonly alive: boolean;
  /**
   * Optional: renews the sandbox's lease over this same connection (a keeper that forwards ports
   * renews without a second login); false once the sandbox is gone there.
   */
  renewLease?(): Promise<boolean>;
  close(): void;
}

/** An SSH login to a sandbox's host, for ssh(1): where, as whom, with which key, trusting which host key. */
export interface LoginTarget {
  ssh: SshTarget;
  /** The host key the connection just verified, as a known_hosts line (and the jump host's, if any). */
  knownHostsLine: string;
  /** The ProxyJump host (`ssh.jump`) and its verified key, when the host is reached through one. */
  jumpKnownHostsLine?: string;
  /** The sandbox's directory on the host. */
  dir: string;
  /** An identity file, the key as text (the caller writes it to a private file), or an ssh-agent. */
  key: { file: string } | { text: string } | { agent: string };
}

/** A command to run in a sandbox; its arguments are passed as they are, never re-split by a shell. */
export interface ExecRequest extends OperationOptions {
  argv: string[];
  /** Inside this service (a compose service), instead of the sandbox's workspace. */
  service?: string;
  /** What the command reads on stdin (default nothing). */
  stdin?: Readable;
  stdout: (chunk: Buffer) => void;
  stderr: (chunk: Buffer) => void;
}

/** A handler module exports a factory (or a class whose constructor takes the context). */
export type ExtensionFactory = (context: ExtensionContext) => SandboxExtension | Promise<SandboxExtension>;
