import { spawn } from 'node:child_process';
import { cp, mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { connect } from 'node:net';
import { basename, dirname, isAbsolute, join, normalize, resolve } from 'node:path';
import { z } from 'zod';
import type { Profile } from '../../declarations/profile-schema.js';
import { InputError } from '../../errors.js';
import type { CleanupReport, Reachability, SandboxHandle } from '../../records/handle.js';
import type { MeterActual, MeterQuote, Usage } from '../../records/metering.js';
import type { SnapshotLocation } from '../../records/snapshot.js';
import { loadRepoIgnore } from '../../sync/ignore-rules.js';
import { isSandboxId } from '../../util/ids.js';
import { sha256File } from '../../util/sha256-file.js';
import type {
  ExecRequest,
  ExtensionContext,
  ProvisionRequest,
  RawInputs,
  RestoreSource,
  RestoreTarget,
  SandboxChannel,
  SandboxExtension,
  SnapshotArtifact,
  SnapshotRequest,
} from '../contract.js';
import { parseExtensionConfig, parseInputs } from '../inputs.js';

const configSchema = z.object({
  rate_per_minute: z.number().nonnegative().default(0.5),
  minimum_minutes: z.number().int().nonnegative().default(1),
  workspace_root: z.string().default(''),
  /** Credits per GB (started hundredth of a credit at least) to keep a snapshot, charged when it is taken. */
  snapshot_rate_per_gb: z.number().nonnegative().default(1),
});

const inputsSchema = z.looseObject({
  // Declared `local-path` (ext.saas-stub.yaml): core has made it absolute and checked it is a directory.
  repo: z.string().refine(isAbsolute, 'must be an absolute path to a local directory'),
});

/** The stub's inputs as validateInputs returns them; a restore copies no repo. */
interface StubInputs {
  repo?: string;
}

/** The saas-stub's handle: the plain contract plus where its workspace is. */
interface StubHandle extends SandboxHandle {
  workspace: string;
}

/**
 * A metered backend with no external API. Each sandbox is a directory `<root>/sbx-<id>/` with the
 * `repo` input copied in (without `.git`, `node_modules` and what `.sandboxerignore` lists).
 * Billing: `rate_per_minute` per started minute, at least `minimum_minutes`.
 */
export class SaasStubExtension implements SandboxExtension<StubInputs> {
  readonly id: string;
  readonly hostKind = 'local';
  readonly #config: z.infer<typeof configSchema>;
  readonly #root: string;

  constructor(context: ExtensionContext) {
    this.id = context.declaration.id;
    this.#config = parseExtensionConfig(this.id, configSchema, context.declaration.config);
    this.#root = this.#config.workspace_root
      ? resolve(context.baseDir, this.#config.workspace_root)
      : join(context.home, 'saas-stub');
  }

  /** The repo to copy; a restore takes its workspace from the snapshot and needs none. */
  validateInputs(inputs: RawInputs, options: { restore?: boolean } = {}): StubInputs {
    if (options.restore) return {};
    const { repo } = parseInputs(this.id, inputsSchema, inputs);
    loadRepoIgnore(repo); // a bad .sandboxerignore is refused before anything is made
    return { repo };
  }

  async provision(request: ProvisionRequest<StubInputs>): Promise<StubHandle> {
    const { repo } = request.inputs;
    if (repo === undefined)
      throw new InputError(`${this.id}: input "repo": is required`, { inputs: ['repo'] });
    const workspace = this.#workspaceOf(request.sandboxId);
    request.progress?.(`copying ${repo} into ${workspace}`);
    await mkdir(this.#root, { recursive: true });
    // `mkdir` without recursive fails if the directory exists: a sandbox id is never reused.
    await mkdir(workspace);
    const rules = loadRepoIgnore(repo);
    await cp(repo, workspace, {
      recursive: true,
      filter: (source) => !rules.ignores(source),
      errorOnExist: true,
      force: false,
    });
    request.phase?.('synced');
    return { sandbox_id: request.sandboxId, host: 'local', workspace };
  }

  async waitReady(handle: SandboxHandle): Promise<Reachability> {
    const workspace = this.#workspaceOfHandle(handle);
    const info = await stat(workspace).catch(() => undefined);
    if (!info?.isDirectory()) throw new Error(`workspace ${workspace} is missing`);
    return { host: 'local', remote_dir: workspace };
  }

  async teardown(handle: SandboxHandle): Promise<CleanupReport> {
    const workspace = this.#workspaceOfHandle(handle);
    const exists = await stat(workspace).catch(() => undefined);
    if (!exists) return { removed: [], leftovers: [], already_gone: true };
    await rm(workspace, { recursive: true, force: true });
    return { removed: [workspace], leftovers: [], already_gone: false };
  }

  /** A command in the workspace, on this machine (no shell: argv as it is). */
  async exec(handle: SandboxHandle, request: ExecRequest): Promise<number> {
    if (request.service) {
      throw new InputError(`service: ${this.id} runs no services; run the command in the workspace`, {
        field: 'service',
      });
    }
    const [file, ...args] = request.argv;
    if (!file) throw new InputError('nothing to run: give a command', { field: 'command' });
    const child = spawn(file, args, {
      cwd: this.#workspaceOfHandle(handle),
      stdio: [request.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'],
      ...(request.signal ? { signal: request.signal } : {}),
    });
    if (request.stdin && child.stdin) request.stdin.pipe(child.stdin);
    child.stdout?.on('data', request.stdout);
    child.stderr?.on('data', request.stderr);
    return new Promise((resolve, reject) => {
      child.on('error', (error: NodeJS.ErrnoException) =>
        error.code === 'ENOENT' ? resolve(127) : error.name === 'AbortError' ? resolve(255) : reject(error),
      );
      child.on('close', (code) => resolve(code ?? 255));
    });
  }

  /** Streams to this machine's ports (the stub runs no services of its own). */
  async openChannel(): Promise<SandboxChannel> {
    return localChannel();
  }

  /** A tar of the workspace, written to the local store (nothing runs in it, so nothing to pause). */
  async snapshot(handle: SandboxHandle, request: SnapshotRequest): Promise<SnapshotArtifact> {
    const workspace = this.#workspaceOfHandle(handle);
    const partial = `${request.localPath}.partial`;
    await mkdir(dirname(request.localPath), { recursive: true, mode: 0o700 });
    request.progress?.(`capturing ${workspace}`);
    const { create } = await import('tar');
    try {
      await create({ cwd: workspace, file: partial, portable: true }, ['.']);
      await rename(partial, request.localPath);
    } catch (error) {
      await rm(partial, { force: true });
      throw error;
    }
    const location: SnapshotLocation = { kind: 'local', path: request.localPath };
    return {
      location,
      size_bytes: (await stat(request.localPath)).size,
      sha256: await sha256File(request.localPath),
      contents: { workspace: true, volumes: [] },
      consistency: 'none',
      paused_ms: 0,
      inputs: {},
    };
  }

  /** Unpacks the (already verified) local artifact into a new workspace, or over the sandbox's own. */
  async restore(source: RestoreSource, target: RestoreTarget<StubInputs>): Promise<SandboxHandle> {
    const file = source.localPath;
    if (!file)
      throw new InputError(`${this.id}: snapshot ${source.snapshot.id} has no local copy to restore from`);
    const { extract } = await import('tar');
    if (target.mode === 'new') {
      const workspace = this.#workspaceOf(target.request.sandboxId);
      await mkdir(this.#root, { recursive: true });
      await mkdir(workspace);
      await extract({ cwd: workspace, file, strict: true });
      return { sandbox_id: target.request.sandboxId, host: 'local', workspace };
    }
    const workspace = this.#workspaceOfHandle(target.handle);
    for (const entry of await readdir(workspace))
      await rm(join(workspace, entry), { recursive: true, force: true });
    await extract({ cwd: workspace, file, strict: true });
    return target.handle;
  }

  snapshotCost(sizeBytes: number): { credits: number; breakdown: Record<string, number> } {
    const rate = this.#config.snapshot_rate_per_gb;
    const credits = rate === 0 ? 0 : Math.max(0.01, Math.ceil((sizeBytes / 1e9) * rate * 100) / 100);
    return { credits, breakdown: { storage: credits } };
  }

  estimateCost(_profile: Profile, durationSeconds: number): MeterQuote {
    const minutes = this.#billableMinutes(durationSeconds);
    const credits = roundCredits(minutes * this.#config.rate_per_minute);
    return { credits, rate: this.#config.rate_per_minute, unit: 'minute', breakdown: { compute: credits } };
  }

  meterActual(_handle: SandboxHandle, usage: Usage): MeterActual {
    const duration = Math.max(0, (usage.destroyedAt.getTime() - usage.createdAt.getTime()) / 1000);
    const credits = roundCredits(this.#billableMinutes(duration) * this.#config.rate_per_minute);
    return { credits, duration, breakdown: { compute: credits } };
  }

  /** Started minutes, never fewer than the minimum. */
  #billableMinutes(seconds: number): number {
    return Math.max(this.#config.minimum_minutes, Math.ceil(seconds / 60));
  }

  /**
   * Where the handle says the workspace is (another process may have another $SANDBOXER_HOME, as
   * the action's post step does), accepted only if it is an absolute `…/sbx-<id>` for this sandbox;
   * from a minimal handle, the workspace under this process's root.
   */
  #workspaceOfHandle(handle: SandboxHandle): string {
    const fallback = this.#workspaceOf(handle.sandbox_id);
    const given = handle.workspace;
    if (typeof given !== 'string') return fallback;
    if (!isAbsolute(given) || normalize(given) !== given || basename(given) !== `sbx-${handle.sandbox_id}`) {
      throw new InputError(
        `${this.id}: refusing workspace ${JSON.stringify(given)}: not this sandbox's directory`,
      );
    }
    return given;
  }

  /** The only path this extension ever writes or deletes; the id check keeps it inside the root. */
  #workspaceOf(sandboxId: string): string {
    if (!isSandboxId(sandboxId))
      throw new InputError(`${this.id}: refusing unexpected sandbox id "${sandboxId}"`);
    return join(this.#root, `sbx-${sandboxId}`);
  }
}

/** A SandboxChannel on this machine: plain TCP connections. */
function localChannel(): SandboxChannel {
  return {
    alive: true,
    close() {},
    connect: (host, port) =>
      new Promise((resolve, reject) => {
        const socket = connect({ host, port });
        socket.once('connect', () => resolve(socket));
        socket.once('error', reject);
      }),
  };
}

/** Credits are kept to two decimals (cents) so sums in the ledger stay exact enough. */
function roundCredits(value: number): number {
  return Math.round(value * 100) / 100;
}

export const createSaasStub = (context: ExtensionContext): SaasStubExtension =>
  new SaasStubExtension(context);
