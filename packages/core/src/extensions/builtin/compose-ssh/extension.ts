import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { InputError, ProvisionError } from '../../../errors.js';
import type { CleanupReport, Reachability, SandboxHandle } from '../../../records/handle.js';
import type { HostTarget } from '../../../records/host-target.js';
import type { SnapshotLocation } from '../../../records/snapshot.js';
import type { SshSession } from '../../../ssh/session.js';
import { withSession } from '../../../ssh/session.js';
import { destination } from '../../../ssh/target.js';
import { cacheBaseOf, parsePrunedCaches, pruneCachesCommand } from '../../../sync/host-cache.js';
import type {
  CacheFinding,
  CachePruneOptions,
  ExtensionContext,
  HostFinding,
  LogOptions,
  OperationOptions,
  ProvisionRequest,
  RestoreSource,
  RestoreTarget,
  SandboxExtension,
  SnapshotArtifact,
  SnapshotRequest,
} from '../../contract.js';
import { parseExtensionConfig, parseInputs } from '../../inputs.js';
import { rescheduleSwitchCommand } from '../remote-workspace/expiry-switch.js';
import { findSandboxesCommand, parseFindings } from '../remote-workspace/host-scan.js';
import {
  createWorkspace,
  hostOfHandle,
  remoteHostOf,
  resolveBaseDir,
  SessionPool,
  sandboxDirOf,
  sessionOptions,
  startSync,
  syncWorkspace,
  workspaceRemoval,
} from '../remote-workspace/workspace.js';
import {
  cleanUpScript,
  composeCommand,
  composeFilesInput,
  composeRuntime,
  envInput,
  inspectProjectCommand,
  logsTailCommand,
  servicesInput,
  stopProjectCommandsCommand,
  TEARDOWN_SECTION,
} from './commands.js';
import {
  deleteComposeArtifact,
  pullComposeArtifact,
  restoreCompose,
  snapshotCompose,
} from './snapshot-hooks.js';
import {
  type ComposeHandle,
  composeInputsSchema,
  configureStack,
  prepareStack,
  type Stack,
  type StackRequest,
  type StackSettings,
  stackSwitchCommand,
  upStack,
} from './stack.js';
import { type ContainerStatus, parseContainers, pollDelayMs, readiness } from './status.js';

const configSchema = z.object({
  compose_command: z.string().default('docker compose'),
  base_dir: z.string().default('~/sandboxer'),
  internal_rate_per_minute: z.number().nonnegative().default(0),
});

const LOG_LINES = 20;

/**
 * A Docker Compose stack per sandbox on a host reached over SSH: `<base>/sbx-<id>/` holds the synced
 * repo, and the stack runs as compose project `sbx-<id>`. One SSH connection serves the whole create
 * (provision and wait-ready) plus one for rsync.
 */
export class ComposeSshExtension implements SandboxExtension {
  readonly id: string;
  readonly hostKind = 'ssh';
  readonly #config: z.infer<typeof configSchema>;
  /** Sessions opened by provision and reused by waitReady (or rollback) in the same process. */
  readonly #sessions = new SessionPool();

  constructor(context: ExtensionContext) {
    this.id = context.declaration.id;
    this.#config = parseExtensionConfig(this.id, configSchema, context.declaration.config);
  }

  /** `SANDBOXER_COMPOSE_CMD` wins over the declaration, so one machine can pick its compose runtime. */
  get composeCommandText(): string {
    return process.env.SANDBOXER_COMPOSE_CMD?.trim() || this.#config.compose_command;
  }

  /** What the stack helpers need from this extension's configuration. */
  get #settings(): StackSettings {
    return { extensionId: this.id, baseDir: this.#config.base_dir, composeCommand: this.composeCommandText };
  }

  /** Prepares the stack and keeps its session for waitReady (or a rollback) in this process. */
  async #prepare(request: StackRequest): Promise<Stack> {
    const stack = await prepareStack(this.#settings, request);
    this.#sessions.keep(request.sandboxId, stack.session);
    return stack;
  }

  validateInputs(
    inputs: Record<string, string>,
    options: { restore?: boolean } = {},
  ): Record<string, string> {
    // A restore takes its workspace from the snapshot: `repo` is only informative then.
    const parsed = parseInputs(
      this.id,
      composeInputsSchema,
      options.restore ? { repo: '-', ...inputs } : inputs,
    );
    servicesInput(parsed.services);
    envInput(parsed.env);
    composeFilesInput(parsed.compose_files, '/check');
    composeRuntime(this.composeCommandText);
    if (options.restore) return inputs;
    const repo = resolve(parsed.repo);
    if (!statSync(repo, { throwIfNoEntry: false })?.isDirectory()) {
      throw new InputError(
        `${this.id}: input "repo": ${repo} is not a directory (pass --input repo=<path to your repo>)`,
      );
    }
    return { ...inputs, repo };
  }

  async provision(request: ProvisionRequest): Promise<ComposeHandle> {
    const stack = await this.#prepare(request);
    const { session, host, dir, inputs } = stack;
    request.progress?.(`creating ${dir}`);
    // The host probe for the sync needs no sandbox directory: it runs while the directory is made.
    const sync = startSync(session, inputs.repo, inputs.sync_method, stack.base);
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
    const synced = await syncWorkspace(
      session,
      host,
      inputs.repo,
      dir,
      inputs.sync_method,
      request.progress,
      sync,
    );
    request.signal?.throwIfAborted();
    const handle = await configureStack(stack, request.progress, inputs.repo);
    if (synced.method === 'rsync via cache' && sync.cacheDir) handle.sync_cache = sync.cacheDir;
    request.signal?.throwIfAborted();
    await upStack(stack, request.progress);
    return handle;
  }

  snapshot(handle: SandboxHandle, request: SnapshotRequest): Promise<SnapshotArtifact> {
    return snapshotCompose(this.#settings, handle, request);
  }

  restore(source: RestoreSource, target: RestoreTarget): Promise<SandboxHandle> {
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
    return withSession(host.ssh, sessionOptions(), async (session) => {
      const base = await resolveBaseDir(session, host.base_dir ?? this.#config.base_dir, 'base_dir');
      const answer = await session.run(rescheduleSwitchCommand(base, raw.sandbox_id, expiresAt), {
        what: 'moving the expiry switch',
      });
      return answer.trim() === 'moved';
    });
  }

  /** Every compose sandbox on the host: `sbx-*` directories, labelled containers, armed switches. */
  async findSandboxes(target: HostTarget): Promise<HostFinding[]> {
    const host = remoteHostOf(target, this.id);
    const runtime = composeRuntime(this.composeCommandText);
    return withSession(host.ssh, sessionOptions(), async (session) => {
      const base = await resolveBaseDir(session, host.base_dir ?? this.#config.base_dir, 'base_dir');
      return parseFindings(
        await session.run(findSandboxesCommand(base, runtime.engine), { what: 'looking for sandboxes' }),
        base,
      );
    });
  }

  /** The host's sync caches (`<base>/.sandboxer-cache/`) unused for longer than asked. */
  async pruneCaches(target: HostTarget, options: CachePruneOptions): Promise<CacheFinding[]> {
    const host = remoteHostOf(target, this.id);
    return withSession(host.ssh, sessionOptions(), async (session) => {
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

  async waitReady(raw: SandboxHandle, options: OperationOptions = {}): Promise<Reachability> {
    const handle = raw as ComposeHandle;
    const host = hostOfHandle(handle, this.id);
    const runtime = composeRuntime(handle.compose_command);
    const timeoutSeconds = handle.wait_timeout;
    const session = await this.#sessions.take(handle.sandbox_id, host.ssh);
    try {
      const deadline = Date.now() + timeoutSeconds * 1000;
      let lastReport = '';
      for (;;) {
        // The host's clock first (`now <ms>`), so the next health check can be timed on it.
        const output = await session.run(
          `printf 'now %s\\n' "$(date +%s%3N)"; ${inspectProjectCommand(runtime, handle.compose_project)}`,
          { what: 'inspecting the stack' },
        );
        const hostNow = Number(/^now (\d{13})$/m.exec(output)?.[1]);
        const containers = parseContainers(output);
        const state = readiness(handle.services, containers);
        if (state.ready) {
          return {
            host: host.name,
            ssh: `ssh://${destination(host.ssh)}`,
            remote_dir: handle.remote_dir,
            compose_project: handle.compose_project,
            endpoints: endpointsOf(containers, host.ssh.address),
          };
        }
        if (state.failed.length > 0 || Date.now() > deadline) {
          const why = state.failed.length > 0 ? 'stopped' : `not ready after ${timeoutSeconds} s`;
          throw new ProvisionError(
            `services ${why}: ${state.notReady.map((s) => `${s.service} (${s.status})`).join(', ')}\n${await this.#logTails(session, runtime, state.notReady)}`,
          );
        }
        const report = state.notReady.map((s) => `${s.service} (${s.status})`).join(', ');
        if (report !== lastReport) options.progress?.(`waiting for ${report}`);
        lastReport = report;
        // Readiness is usually a healthcheck flipping: look again just after the next one has run.
        const delay = pollDelayMs(state.notReady, Number.isFinite(hostNow) ? hostNow : undefined);
        await sleep(delay, undefined, { signal: options.signal });
      }
    } finally {
      session.close();
    }
  }

  async teardown(raw: SandboxHandle, options: OperationOptions = {}): Promise<CleanupReport> {
    const handle = raw as Partial<ComposeHandle> & SandboxHandle;
    const host = hostOfHandle(handle, this.id);
    const runtime = composeRuntime(handle.compose_command ?? this.composeCommandText);
    const projectName = `sbx-${handle.sandbox_id}`;
    const session = await this.#sessions.take(handle.sandbox_id, host.ssh);
    try {
      const base = await resolveBaseDir(session, host.base_dir ?? this.#config.base_dir, 'base_dir');
      const dir = sandboxDirOf(base, handle.sandbox_id);
      const removed: string[] = [];
      // A create that was cancelled may have left `compose up` running on the host: stopped first.
      const stop = stopProjectCommandsCommand(projectName);
      if (handle.compose_files) {
        // A graceful stop first (services get stop_timeout to exit), then the label sweep below.
        options.progress?.(`${runtime.words.join(' ')} -p ${projectName} down -v --remove-orphans`);
        const project = { runtime, dir, project: projectName, files: handle.compose_files, env: {} };
        const downCommand = composeCommand(
          project,
          'down',
          '-v',
          '--remove-orphans',
          '-t',
          String(handle.stop_timeout ?? 10),
        );
        // One round trip for both, as a script on stdin: the remote command line is then `sh -s`,
        // which the stop's `pkill -f` pattern cannot match (it would kill this very shell).
        const down = await session.exec('sh -s', {
          stdin: `${stop}\n${downCommand}\n`,
          what: 'compose down',
          timeoutMs: 10 * 60_000,
        });
        if (down.code === 0) removed.push(`compose project ${projectName}`);
      } else {
        await session.exec(stop, { what: 'stopping running compose commands' });
      }
      // Then, in one round trip: the label sweep, the directory's removal, the check for leftovers
      // and — only when nothing is left and the directory went — disarming the switch; until then it
      // still stands guard at the expiry.
      const [swept = '', removal = '', check = ''] = (
        await session.run(
          cleanUpScript(runtime, projectName, base, dir, handle.sandbox_id, handle.sync_cache),
          {
            what: 'removing labelled resources and the directory',
          },
        )
      ).split(`${TEARDOWN_SECTION}\n`);
      removed.push(...swept.split('\n').filter(Boolean));
      const workspace = workspaceRemoval(removal, dir, session.destination);
      removed.push(...workspace.removed);
      const remaining = parseContainers(check);
      const leftovers = [
        ...workspace.leftovers,
        ...remaining.map(
          (c) =>
            `container ${c.id.slice(0, 12)} of ${projectName} (remove with: ${runtime.engine} rm -f -v ${c.id.slice(0, 12)})`,
        ),
      ];
      return { removed, leftovers, already_gone: removed.length === 0 && !workspace.existed };
    } finally {
      session.close();
    }
  }

  /** The last lines of every container's log, one service at a time (one channel at a time). */
  async logs(raw: SandboxHandle, options: LogOptions): Promise<void> {
    const handle = raw as Partial<ComposeHandle> & SandboxHandle;
    const host = hostOfHandle(handle, this.id);
    const runtime = composeRuntime(handle.compose_command ?? this.composeCommandText);
    await withSession(host.ssh, sessionOptions(), async (session) => {
      const containers = parseContainers(
        await session.run(inspectProjectCommand(runtime, `sbx-${handle.sandbox_id}`), {
          what: 'inspecting the stack',
        }),
      );
      for (const c of containers) {
        const result = await session.exec(logsTailCommand(runtime, c.id, options.lines), {
          maxOutputBytes: options.maxBytes,
          what: `reading the log of ${c.service}`,
        });
        options.write(c.service, result.stdout);
      }
    });
  }

  async #logTails(
    session: SshSession,
    runtime: ReturnType<typeof composeRuntime>,
    services: ContainerStatus[],
  ): Promise<string> {
    const parts: string[] = [];
    for (const s of services) {
      if (!s.id) continue;
      const result = await session.exec(logsTailCommand(runtime, s.id, LOG_LINES), {
        maxOutputBytes: 8 * 1024,
        what: 'reading logs',
      });
      parts.push(
        `--- ${s.service}: last ${LOG_LINES} log lines ---\n${result.stdout.trimEnd() || '(no output)'}`,
      );
    }
    return parts.join('\n');
  }
}

function endpointsOf(containers: ContainerStatus[], hostAddress: string): Record<string, string> {
  const endpoints: Record<string, string> = {};
  for (const c of containers) {
    for (const [port, bindings] of Object.entries(c.ports)) {
      const binding = bindings?.find((b) => !b.HostIp?.includes(':'));
      if (!binding) continue;
      const ip = !binding.HostIp || binding.HostIp === '0.0.0.0' ? hostAddress : binding.HostIp;
      endpoints[`${c.service}:${port.replace('/tcp', '')}`] = `${ip}:${binding.HostPort}`;
    }
  }
  return endpoints;
}

export const createComposeSsh = (context: ExtensionContext): ComposeSshExtension =>
  new ComposeSshExtension(context);
