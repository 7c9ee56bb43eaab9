import { z } from 'zod';
import type { CleanupReport, Reachability, SandboxHandle } from '../../../records/handle.js';
import type { HostTarget } from '../../../records/host-target.js';
import type { SnapshotLocation } from '../../../records/snapshot.js';
import type { SshSession } from '../../../ssh/session.js';
import { cacheBaseOf, parsePrunedCaches, pruneCachesCommand } from '../../../sync/host-cache.js';
import type {
  CacheFinding,
  CachePruneOptions,
  ExecRequest,
  ExtensionContext,
  HostFinding,
  HostResources,
  LoginTarget,
  LogOptions,
  OperationOptions,
  ProvisionRequest,
  RawInputs,
  RestoreSource,
  RestoreTarget,
  SandboxChannel,
  SandboxExtension,
  SnapshotArtifact,
  SnapshotRequest,
} from '../../contract.js';
import { parseExtensionConfig } from '../../inputs.js';
import { SshChannel } from '../remote-workspace/channel.js';
import { renewLeaseOver, rescheduleSwitchCommand } from '../remote-workspace/expiry-switch.js';
import { probeResources } from '../remote-workspace/host-resources.js';
import { findSandboxesCommand, parseFindings } from '../remote-workspace/host-scan.js';
import { hostOfHandle, remoteHostOf, SessionPool, SshAccess } from '../remote-workspace/ssh-access.js';
import { startSync, syncWorkspace } from '../remote-workspace/sync.js';
import { createWorkspace, resolveBaseDir } from '../remote-workspace/workspace.js';
import { composeRuntime } from './commands.js';
import { type ComposeInputs, parseComposeInputs } from './inputs.js';
import { execInStack, stackLogs } from './operate.js';
import { waitUntilReady } from './readiness.js';
import { AUTO, enginesFor, isAuto, resolveRuntime } from './runtime-detect.js';
import {
  deleteComposeArtifact,
  pullComposeArtifact,
  restoreCompose,
  snapshotCompose,
} from './snapshot-hooks.js';
import {
  type ComposeHandle,
  configureStack,
  prepareStack,
  type Stack,
  type StackRequest,
  type StackSettings,
  stackSwitchCommand,
  upStack,
} from './stack.js';
import { StackPoller } from './stack-poller.js';
import { tearDownStack } from './teardown.js';

const configSchema = z.object({
  // `auto`: the first of docker compose, docker-compose, podman-compose the host has (runtime-detect.ts).
  compose_command: z.string().default(AUTO),
  base_dir: z.string().default('~/sandboxer'),
  internal_rate_per_minute: z.number().nonnegative().default(0),
});

/**
 * A Docker Compose stack per sandbox on a host reached over SSH: `<base>/sbx-<id>/` holds the synced
 * repo, and the stack runs as compose project `sbx-<id>`. One SSH connection serves the whole create
 * (provision and wait-ready) plus one for rsync.
 */
export class ComposeSshExtension implements SandboxExtension<ComposeInputs> {
  readonly id: string;
  readonly hostKind = 'ssh';
  /** The compose command: the caller's choice (e.g. `docker-compose`), else the declaration's. */
  readonly composeCommandText: string;
  readonly #config: z.infer<typeof configSchema>;
  readonly #access: SshAccess;
  /** Sessions opened by provision and reused by waitReady (or rollback) in the same process. */
  readonly #sessions: SessionPool;

  constructor(context: ExtensionContext) {
    this.id = context.declaration.id;
    this.#config = parseExtensionConfig(this.id, configSchema, context.declaration.config);
    this.composeCommandText = context.composeCommand?.trim() || this.#config.compose_command;
    this.#access = new SshAccess(context);
    this.#sessions = new SessionPool(this.#access);
  }

  /** What the stack helpers need from this extension's configuration. */
  get #settings(): StackSettings {
    return {
      extensionId: this.id,
      baseDir: this.#config.base_dir,
      composeCommand: this.composeCommandText,
      access: this.#access,
    };
  }

  /** Prepares the stack and keeps its session for waitReady (or a rollback) in this process. */
  async #prepare(request: StackRequest): Promise<Stack> {
    const stack = await prepareStack(this.#settings, request);
    this.#sessions.keep(request.sandboxId, stack.session);
    return stack;
  }

  validateInputs(inputs: RawInputs, options: { restore?: boolean } = {}): ComposeInputs {
    const parsed = parseComposeInputs(this.id, inputs, options);
    if (!isAuto(this.composeCommandText)) composeRuntime(this.composeCommandText);
    return parsed;
  }

  async provision(request: ProvisionRequest<ComposeInputs>): Promise<ComposeHandle> {
    const stack = await this.#prepare(request);
    request.phase?.('connected');
    const { session, dir, inputs } = stack;
    const repo = inputs.repo as string; // validateInputs requires it for a provision
    request.progress?.(`creating ${dir}`);
    // The host probe for the sync needs no sandbox directory: it runs while the directory is made.
    const sync = startSync(session, repo, inputs.syncMethod, stack.base);
    // Armed as soon as there is something to remove: from here on, the sandbox goes at its expiry
    // even if this process (or its runner) dies.
    await createWorkspace(
      session,
      stack.base,
      dir,
      { sandbox_id: request.sandboxId, extension: this.id, ...stack.labels },
      stackSwitchCommand(stack),
    );
    request.signal?.throwIfAborted();
    const synced = await syncWorkspace(session, repo, dir, inputs.syncMethod, request.progress, sync);
    request.phase?.('synced');
    request.signal?.throwIfAborted();
    const handle = await configureStack(stack, request.progress, repo);
    // A spare copy of the cache for the next sandbox, started at teardown; an overlay layer needs none.
    if (synced.fill === 'copy' && sync.cacheDir) handle.sync_cache = sync.cacheDir;
    request.signal?.throwIfAborted();
    // The readiness loop starts while `up` runs: the wait's first poll is then one round trip.
    StackPoller.prepare(session, stack.project.runtime, stack.project.project);
    handle.ready_by = await upStack(stack, request.progress);
    request.phase?.('up');
    return handle;
  }

  async waitReady(raw: SandboxHandle, options: OperationOptions = {}): Promise<Reachability> {
    const handle = raw as ComposeHandle;
    const host = hostOfHandle(handle, this.id);
    const session = await this.#sessions.take(handle.sandbox_id, host.ssh);
    try {
      return await waitUntilReady(session, handle, host, options);
    } finally {
      session.close();
    }
  }

  async teardown(raw: SandboxHandle, options: OperationOptions = {}): Promise<CleanupReport> {
    const handle = raw as Partial<ComposeHandle> & SandboxHandle;
    const host = hostOfHandle(handle, this.id);
    const session = await this.#sessions.take(handle.sandbox_id, host.ssh);
    try {
      const base = await resolveBaseDir(session, host.base_dir ?? this.#config.base_dir, 'base_dir');
      // The runtime the record names (the one that ran `up`); else every engine the host has.
      const engines = await enginesFor(session, handle.compose_command, this.composeCommandText);
      return await tearDownStack(session, handle, engines, base, options);
    } finally {
      session.close();
    }
  }

  snapshot(handle: SandboxHandle, request: SnapshotRequest): Promise<SnapshotArtifact> {
    return snapshotCompose(this.#settings, handle, request);
  }

  restore(source: RestoreSource, target: RestoreTarget<ComposeInputs>): Promise<SandboxHandle> {
    return restoreCompose(this.#settings, (r) => this.#prepare(r), this.#sessions, source, target);
  }

  pullArtifact(location: SnapshotLocation, localPath: string): Promise<void> {
    return pullComposeArtifact(this.#settings, location, localPath);
  }

  deleteArtifact(location: SnapshotLocation): Promise<void> {
    return deleteComposeArtifact(this.#settings, location);
  }

  /** Moves the host-side switch (extend); false if it already fired there. */
  async reschedule(raw: SandboxHandle, expiresAt: Date): Promise<boolean> {
    const host = hostOfHandle(raw, this.id);
    return this.#access.with(host.ssh, async (session) => {
      const base = await resolveBaseDir(session, host.base_dir ?? this.#config.base_dir, 'base_dir');
      const answer = await session.run(rescheduleSwitchCommand(base, raw.sandbox_id, expiresAt), {
        what: 'moving the expiry switch',
      });
      return answer.trim() === 'moved';
    });
  }

  /** Renews the lease on the host-side switch; false once the sandbox is gone there. */
  async renewLease(raw: SandboxHandle): Promise<boolean> {
    return this.#access.with(hostOfHandle(raw, this.id).ssh, (session) => this.#renew(session, raw));
  }

  async #renew(session: SshSession, raw: SandboxHandle): Promise<boolean> {
    const host = hostOfHandle(raw, this.id);
    const base = await resolveBaseDir(session, host.base_dir ?? this.#config.base_dir, 'base_dir');
    return renewLeaseOver(session, base, raw.sandbox_id);
  }

  /** Free disk under the host's base dir, available memory (`sandboxer hosts probe`). */
  checkAccess(target: HostTarget): void {
    this.#access.checkAccess(remoteHostOf(target, this.id).ssh);
  }

  async probeHost(target: HostTarget): Promise<HostResources> {
    const host = remoteHostOf(target, this.id);
    return this.#access.with(host.ssh, async (session) =>
      probeResources(
        session,
        await resolveBaseDir(session, host.base_dir ?? this.#config.base_dir, 'base_dir'),
      ),
    );
  }

  /** Every compose sandbox on the host: `sbx-*` directories, labelled containers, armed switches. */
  async findSandboxes(target: HostTarget): Promise<HostFinding[]> {
    const host = remoteHostOf(target, this.id);
    return this.#access.with(host.ssh, async (session) => {
      const base = await resolveBaseDir(session, host.base_dir ?? this.#config.base_dir, 'base_dir');
      // Every engine the host has (`auto`): a sandbox made with another runtime is found too.
      const engines = await enginesFor(session, undefined, this.composeCommandText);
      return parseFindings(
        await session.run(findSandboxesCommand(base, engines), { what: 'looking for sandboxes' }),
        base,
      );
    });
  }

  /** The host's sync caches (`<base>/.sandboxer-cache/`) unused for longer than asked. */
  async pruneCaches(target: HostTarget, options: CachePruneOptions): Promise<CacheFinding[]> {
    const host = remoteHostOf(target, this.id);
    return this.#access.with(host.ssh, async (session) => {
      const base = await resolveBaseDir(session, host.base_dir ?? this.#config.base_dir, 'base_dir');
      const cacheBase = cacheBaseOf(base);
      const output = await session.run(
        pruneCachesCommand(cacheBase, options.olderThanMinutes, options.dryRun === true),
        { what: 'pruning unused sync caches', timeoutMs: 30 * 60_000 },
      );
      return parsePrunedCaches(output).map((c) => ({
        path: `${cacheBase}/${c.key}`,
        last_used: c.lastUsed.toISOString(),
        size_kib: c.sizeKiB,
        result: c.result,
      }));
    });
  }

  /** Each service's log: tails, or followed (see operate.ts). */
  async logs(raw: SandboxHandle, options: LogOptions): Promise<void> {
    const handle = raw as Partial<ComposeHandle> & SandboxHandle;
    const host = hostOfHandle(handle, this.id);
    await this.#access.with(host.ssh, async (session) =>
      stackLogs(
        session,
        handle,
        await resolveRuntime(session, handle.compose_command ?? this.composeCommandText),
        options,
      ),
    );
  }

  /** The stack's host and directory, for ssh(1). */
  async loginTarget(raw: SandboxHandle): Promise<LoginTarget> {
    const handle = raw as Partial<ComposeHandle> & SandboxHandle;
    const host = hostOfHandle(handle, this.id);
    return this.#access.loginTarget(host.ssh, handle.remote_dir ?? '.');
  }

  /** One SSH connection to the stack's host: streams to its published ports. */
  async openChannel(raw: SandboxHandle): Promise<SandboxChannel> {
    const session = await this.#access.open(hostOfHandle(raw, this.id).ssh);
    return new SshChannel(session, (over) => this.#renew(over, raw));
  }

  /** A command in a service's container, or in the sandbox directory. */
  async exec(raw: SandboxHandle, request: ExecRequest): Promise<number> {
    const handle = raw as Partial<ComposeHandle> & SandboxHandle;
    const host = hostOfHandle(handle, this.id);
    return this.#access.with(host.ssh, async (session) => {
      const base = await resolveBaseDir(session, host.base_dir ?? this.#config.base_dir, 'base_dir');
      const runtime = await resolveRuntime(session, handle.compose_command ?? this.composeCommandText);
      return execInStack(session, handle, runtime, base, request);
    });
  }
}

export const createComposeSsh = (context: ExtensionContext): ComposeSshExtension =>
  new ComposeSshExtension(context);
