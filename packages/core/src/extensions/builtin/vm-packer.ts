import { isAbsolute } from 'node:path';
import { z } from 'zod';
import { InputError } from '../../errors.js';
import type { CleanupReport, Reachability, SandboxHandle } from '../../records/handle.js';
import type { HostTarget } from '../../records/host-target.js';
import { assertAbsoluteRemotePath, command } from '../../ssh/quote.js';
import type { SshSession } from '../../ssh/session.js';
import { destination } from '../../ssh/target.js';
import { nextSpareCommand } from '../../sync/host-cache.js';
import { loadRepoIgnore } from '../../sync/ignore-rules.js';
import type {
  ExecRequest,
  ExtensionContext,
  HostFinding,
  HostResources,
  LoginTarget,
  OperationOptions,
  ProvisionRequest,
  RawInputs,
  SandboxChannel,
  SandboxExtension,
} from '../contract.js';
import { parseExtensionConfig, parseInputs } from '../inputs.js';
import { execOnHost, SshChannel, workspaceExecCommand } from './remote-workspace/channel.js';
import {
  armSwitchCommand,
  disarmSwitchCommand,
  renewLeaseOver,
  rescheduleSwitchCommand,
} from './remote-workspace/expiry-switch.js';
import { checkFloors, probeResources } from './remote-workspace/host-resources.js';
import { findSandboxesCommand, parseFindings } from './remote-workspace/host-scan.js';
import { hostOfHandle, remoteHostOf, SessionPool, SshAccess } from './remote-workspace/ssh-access.js';
import { startSync, syncWorkspace } from './remote-workspace/sync.js';
import {
  createWorkspace,
  removeWorkspace,
  removeWorkspaceCommand,
  resolveBaseDir,
  sandboxDirOf,
} from './remote-workspace/workspace.js';

const configSchema = z.object({
  workspace_dir: z.string().default('/build'),
  internal_rate_per_minute: z.number().nonnegative().default(0),
});

const port = z
  .string()
  .regex(/^\d{1,5}$/, 'must be a port number')
  .optional();

const inputsSchema = z.looseObject({
  vm: z.string().optional(),
  ssh_target: z.string().optional(),
  ssh_port: port,
  tunnel_port: port,
  // Declared `local-path` (ext.vm-packer.yaml): core has made it absolute and checked it is a directory.
  repo: z.string().refine(isAbsolute, 'must be an absolute path to a local directory').optional(),
  workspace_dir: z.string().optional(),
  sync_method: z.enum(['auto', 'rsync', 'tar']).default('auto'),
});

/** vm-packer's inputs as validateInputs returns them (the VM itself is resolved by routing). */
type VmInputs = z.infer<typeof inputsSchema>;

interface VmHandle extends SandboxHandle {
  remote_dir: string;
  tunnel_port?: string;
  /** The host's sync cache the workspace was filled from: teardown starts its next spare copy. */
  sync_cache?: string;
}

/**
 * Attach mode on a pre-built VM: each sandbox is a workspace `<workspace_dir>/sbx-<id>/` (default
 * `/build`) with the repo synced in. The VM itself is never touched beyond that directory.
 */
export class VmPackerExtension implements SandboxExtension<VmInputs> {
  readonly id: string;
  readonly hostKind = 'ssh';
  readonly #config: z.infer<typeof configSchema>;
  readonly #access: SshAccess;
  readonly #sessions: SessionPool;

  constructor(context: ExtensionContext) {
    this.id = context.declaration.id;
    this.#config = parseExtensionConfig(this.id, configSchema, context.declaration.config);
    this.#access = new SshAccess(context);
    this.#sessions = new SessionPool(this.#access);
  }

  /** The VM is named by `vm` (a hosts-file alias) or `ssh_target` (user@address[:port]). */
  hostFromInputs(inputs: RawInputs): string | undefined {
    if (inputs.vm) return inputs.vm;
    if (!inputs.ssh_target) return undefined;
    return inputs.ssh_port && !/:\d+$/.test(inputs.ssh_target)
      ? `${inputs.ssh_target}:${inputs.ssh_port}`
      : inputs.ssh_target;
  }

  validateInputs(inputs: RawInputs): VmInputs {
    const parsed = parseInputs(this.id, inputsSchema, inputs);
    if (parsed.vm && parsed.ssh_target) {
      throw new InputError(`${this.id}: give either input "vm" or input "ssh_target", not both`, {
        inputs: ['vm', 'ssh_target'],
      });
    }
    if (!parsed.vm && !parsed.ssh_target) {
      throw new InputError(
        `${this.id}: input "vm" (a hosts-file alias) or "ssh_target" (user@address[:port]) is required`,
        { inputs: ['vm', 'ssh_target'] },
      );
    }
    const dir = parsed.workspace_dir;
    if (dir !== undefined && dir !== '~' && !dir.startsWith('~/'))
      assertAbsoluteRemotePath(dir, 'input "workspace_dir":');
    if (parsed.repo) loadRepoIgnore(parsed.repo); // a bad .sandboxerignore is refused before anything is made
    return parsed;
  }

  async provision(request: ProvisionRequest<VmInputs>): Promise<VmHandle> {
    const { sandboxId, progress, inputs } = request;
    const host = remoteHostOf(request.host, this.id);
    progress?.(`connecting to ${host.name} (${destination(host.ssh)})`);
    const session = await this.#access.open(host.ssh);
    this.#sessions.keep(sandboxId, session);
    const base = await resolveBaseDir(
      session,
      inputs.workspace_dir ?? this.#config.workspace_dir,
      'workspace_dir',
    );
    await checkFloors(session, host, base);
    request.phase?.('connected');
    const dir = sandboxDirOf(base, sandboxId);
    progress?.(`creating workspace ${dir}`);
    // Before anything exists on the VM: a rollback must find this workspace even under an input-chosen base.
    await request.checkpoint?.({
      sandbox_id: sandboxId,
      host: host.name,
      target: host,
      workspace_base: base,
      remote_dir: dir,
    });
    // The sync's host probe needs no workspace: it runs while the workspace is made.
    const sync = inputs.repo ? startSync(session, inputs.repo, inputs.sync_method, base) : undefined;
    // From here on the workspace goes at its expiry even if this process dies (expiry-switch.ts).
    await createWorkspace(
      session,
      base,
      dir,
      {
        sandbox_id: sandboxId,
        extension: this.id,
        created_at: request.createdAt.toISOString(),
        expires_at: request.expiresAt.toISOString(),
      },
      armSwitchCommand(
        base,
        sandboxId,
        request.expiresAt,
        removeWorkspaceCommand(dir, sandboxId),
        request.leaseSeconds,
      ),
    );
    let syncCache: string | undefined;
    if (inputs.repo && sync) {
      request.signal?.throwIfAborted();
      const synced = await syncWorkspace(session, inputs.repo, dir, inputs.sync_method, progress, sync);
      if (synced.fill === 'copy') syncCache = sync.cacheDir;
    }
    request.phase?.('synced');
    return {
      sandbox_id: sandboxId,
      host: host.name,
      target: host,
      workspace_base: base,
      remote_dir: dir,
      ...(inputs.tunnel_port ? { tunnel_port: inputs.tunnel_port } : {}),
      ...(syncCache ? { sync_cache: syncCache } : {}),
    };
  }

  async waitReady(raw: SandboxHandle, _options: OperationOptions = {}): Promise<Reachability> {
    const handle = raw as VmHandle;
    const host = hostOfHandle(handle, this.id);
    const session = await this.#sessions.take(handle.sandbox_id, host.ssh);
    try {
      await session.run(command('test', '-d', handle.remote_dir), {
        what: `checking workspace ${handle.remote_dir}`,
      });
      return {
        host: host.name,
        ssh: `ssh://${destination(host.ssh)}`,
        remote_dir: handle.remote_dir,
        ...(handle.tunnel_port ? { endpoints: { tunnel: `${host.ssh.address}:${handle.tunnel_port}` } } : {}),
      };
    } finally {
      session.close();
    }
  }

  /** Removes the workspace only; the VM and everything else on it stay. */
  async teardown(raw: SandboxHandle, options: OperationOptions = {}): Promise<CleanupReport> {
    const handle = raw as Partial<VmHandle> & SandboxHandle;
    const host = hostOfHandle(handle, this.id);
    const session = await this.#sessions.take(handle.sandbox_id, host.ssh);
    try {
      const base = await this.#baseOf(session, handle);
      const dir = sandboxDirOf(base, handle.sandbox_id);
      options.progress?.(`removing workspace ${dir} (the VM stays)`);
      const result = await removeWorkspace(session, dir, handle.sandbox_id);
      if (result.leftovers.length === 0) {
        const spare = nextSpareCommand(base, handle.sync_cache);
        await session.run(`${disarmSwitchCommand(base, handle.sandbox_id)}${spare ? `; ${spare}` : ''}`, {
          what: 'disarming the expiry switch',
        });
      }
      return { removed: result.removed, leftovers: result.leftovers, already_gone: !result.existed };
    } finally {
      session.close();
    }
  }
  /** Moves the host-side switch (extend); false if it already fired there. */
  async reschedule(raw: SandboxHandle, expiresAt: Date): Promise<boolean> {
    const handle = raw as Partial<VmHandle> & SandboxHandle;
    const host = hostOfHandle(handle, this.id);
    return this.#access.with(host.ssh, async (session) => {
      const base = await this.#baseOf(session, handle);
      const answer = await session.run(rescheduleSwitchCommand(base, handle.sandbox_id, expiresAt), {
        what: 'moving the expiry switch',
      });
      return answer.trim() === 'moved';
    });
  }

  /** Renews the lease on the host-side switch; false once the workspace is gone there. */
  async renewLease(raw: SandboxHandle): Promise<boolean> {
    return this.#access.with(hostOfHandle(raw, this.id).ssh, (session) => this.#renew(session, raw));
  }

  async #renew(session: SshSession, raw: SandboxHandle): Promise<boolean> {
    const handle = raw as Partial<VmHandle> & SandboxHandle;
    return renewLeaseOver(session, await this.#baseOf(session, handle), handle.sandbox_id);
  }

  checkAccess(target: HostTarget): void {
    this.#access.checkAccess(remoteHostOf(target, this.id).ssh);
  }

  async probeHost(target: HostTarget): Promise<HostResources> {
    const host = remoteHostOf(target, this.id);
    return this.#access.with(host.ssh, async (session) =>
      probeResources(session, await resolveBaseDir(session, this.#config.workspace_dir, 'workspace_dir')),
    );
  }

  /** Workspaces and armed switches under the configured workspace directory (the VM itself is not ours). */
  async findSandboxes(target: HostTarget): Promise<HostFinding[]> {
    const host = remoteHostOf(target, this.id);
    return this.#access.with(host.ssh, async (session) => {
      const base = await resolveBaseDir(session, this.#config.workspace_dir, 'workspace_dir');
      const output = await session.run(findSandboxesCommand(base, undefined), {
        what: 'looking for workspaces',
      });
      return parseFindings(output, base);
    });
  }

  /** The VM and the workspace, for ssh(1). */
  async loginTarget(raw: SandboxHandle): Promise<LoginTarget> {
    const handle = raw as Partial<VmHandle> & SandboxHandle;
    return this.#access.loginTarget(hostOfHandle(handle, this.id).ssh, handle.remote_dir ?? '.');
  }

  /** One SSH connection to the VM: streams to any port it sees (e.g. its `tunnel_port`). */
  async openChannel(raw: SandboxHandle): Promise<SandboxChannel> {
    const session = await this.#access.open(hostOfHandle(raw, this.id).ssh);
    return new SshChannel(session, (over) => this.#renew(over, raw));
  }

  /** A command in the workspace on the VM (a VM has no services: `service` is refused). */
  async exec(raw: SandboxHandle, request: ExecRequest): Promise<number> {
    if (request.service) {
      throw new InputError(`service: ${this.id} runs no services; run the command in the workspace`, {
        field: 'service',
      });
    }
    const handle = raw as Partial<VmHandle> & SandboxHandle;
    const host = hostOfHandle(handle, this.id);
    return this.#access.with(host.ssh, async (session) => {
      const dir = handle.remote_dir ?? sandboxDirOf(await this.#baseOf(session, handle), handle.sandbox_id);
      return execOnHost(session, workspaceExecCommand(dir, request.argv), request);
    });
  }

  async #baseOf(session: SshSession, handle: Partial<VmHandle>): Promise<string> {
    return typeof handle.workspace_base === 'string'
      ? handle.workspace_base
      : resolveBaseDir(session, this.#config.workspace_dir, 'workspace_dir');
  }
}

export const createVmPacker = (context: ExtensionContext): VmPackerExtension =>
  new VmPackerExtension(context);
