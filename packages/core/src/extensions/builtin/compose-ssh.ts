import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { z } from 'zod';
import { InputError, ProvisionError } from '../../errors.js';
import { quote } from '../../ssh/quote.js';
import { type SshSession, withSession } from '../../ssh/session.js';
import { destination } from '../../ssh/target.js';
import type {
  CleanupReport,
  ExtensionContext,
  LogOptions,
  OperationOptions,
  ProvisionRequest,
  Reachability,
  SandboxExtension,
  SandboxHandle,
} from '../contract.js';
import { parseExtensionConfig, parseInputs } from '../inputs.js';
import {
  type ComposeProject,
  composeCommand,
  composeFilesInput,
  composeRuntime,
  envInput,
  inspectProjectCommand,
  logsTailCommand,
  servicesInput,
  stopProjectCommandsCommand,
  sweepProjectCommand,
} from './compose-commands.js';
import { type ContainerStatus, parseContainers, readiness } from './compose-status.js';
import {
  createWorkspace,
  hostOfHandle,
  openSession,
  remoteHostOf,
  removeWorkspace,
  resolveBaseDir,
  sandboxDirOf,
  sessionOptions,
  syncWorkspace,
} from './remote-workspace.js';

const configSchema = z.object({
  compose_command: z.string().default('docker compose'),
  base_dir: z.string().default('~/sandboxer'),
  internal_rate_per_minute: z.number().nonnegative().default(0),
});

const seconds = (what: string) =>
  z.string().regex(/^\d+$/, `must be a whole number of seconds for ${what}`).transform(Number);

const inputsSchema = z.looseObject({
  repo: z.string().min(1, 'must be a path to a local directory'),
  compose_files: z.string().default('docker-compose.yml'),
  services: z.string().default(''),
  env: z.string().default(''),
  stop_timeout: seconds('stop_timeout').default(10),
  wait_timeout: seconds('wait_timeout').default(120),
  sync_method: z.enum(['auto', 'rsync', 'tar']).default('auto'),
});

/** Generated next to the user's compose files: labels every resource with the sandbox id and expiry. */
const LABELS_FILE = '.sandboxer-compose.labels.yml';
const LOG_LINES = 20;

interface ComposeHandle extends SandboxHandle {
  remote_dir: string;
  compose_project: string;
  compose_command: string;
  compose_files: string[];
  services: string[];
  stop_timeout: number;
  wait_timeout: number;
  env_keys: string[];
}

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
  readonly #sessions = new Map<string, SshSession>();

  constructor(context: ExtensionContext) {
    this.id = context.declaration.id;
    this.#config = parseExtensionConfig(this.id, configSchema, context.declaration.config);
  }

  /** `SANDBOXER_COMPOSE_CMD` wins over the declaration, so one machine can pick its compose runtime. */
  get composeCommandText(): string {
    return process.env.SANDBOXER_COMPOSE_CMD?.trim() || this.#config.compose_command;
  }

  validateInputs(inputs: Record<string, string>): Record<string, string> {
    const parsed = parseInputs(this.id, inputsSchema, inputs);
    const repo = resolve(parsed.repo);
    if (!statSync(repo, { throwIfNoEntry: false })?.isDirectory()) {
      throw new InputError(
        `${this.id}: input "repo": ${repo} is not a directory (pass --input repo=<path to your repo>)`,
      );
    }
    servicesInput(parsed.services);
    envInput(parsed.env);
    composeFilesInput(parsed.compose_files, '/check');
    composeRuntime(this.composeCommandText);
    return { ...inputs, repo };
  }

  async provision(request: ProvisionRequest): Promise<ComposeHandle> {
    const { sandboxId, progress } = request;
    const inputs = parseInputs(this.id, inputsSchema, request.inputs);
    const host = remoteHostOf(request.host, this.id);
    const runtime = composeRuntime(this.composeCommandText);
    progress?.(`connecting to ${host.name} (${destination(host.ssh)})`);
    const session = await openSession(host.ssh);
    this.#sessions.set(sandboxId, session);

    const base = await resolveBaseDir(session, host.base_dir ?? this.#config.base_dir, 'base_dir');
    const dir = sandboxDirOf(base, sandboxId);
    const project: ComposeProject = {
      runtime,
      dir,
      project: `sbx-${sandboxId}`,
      files: composeFilesInput(inputs.compose_files, dir),
      env: envInput(inputs.env),
    };
    const labels = {
      'dev.sandboxer.managed': 'true',
      'dev.sandboxer.sandbox-id': sandboxId,
      'dev.sandboxer.created-at': request.createdAt.toISOString(),
      'dev.sandboxer.expires-at': request.expiresAt.toISOString(),
    };

    progress?.(`creating ${dir}`);
    await createWorkspace(session, base, dir, { sandbox_id: sandboxId, extension: this.id, ...labels });
    request.signal?.throwIfAborted();
    await syncWorkspace(session, host, inputs.repo, dir, inputs.sync_method, progress);
    request.signal?.throwIfAborted();

    progress?.(`checking ${project.files.join(', ')} with ${runtime.words.join(' ')} config`);
    const config = await session.run(composeCommand(project, 'config'), { what: 'compose config' });
    const { services, override } = labelsOverride(config, labels, servicesInput(inputs.services));
    await session.run(`cat > ${quote(`${dir}/${LABELS_FILE}`)}`, {
      stdin: override,
      what: 'writing the labels file',
    });
    project.files.push(LABELS_FILE);

    const handle: ComposeHandle = {
      sandbox_id: sandboxId,
      host: host.name,
      target: host,
      remote_dir: dir,
      compose_project: project.project,
      compose_command: runtime.words.join(' '),
      compose_files: project.files,
      services,
      stop_timeout: inputs.stop_timeout,
      wait_timeout: inputs.wait_timeout,
      env_keys: Object.keys(project.env),
    };
    progress?.(`${runtime.words.join(' ')} -p ${project.project} up -d`);
    request.signal?.throwIfAborted();
    await session.run(composeCommand(project, 'up', '-d', ...servicesInput(inputs.services)), {
      what: 'compose up',
      timeoutMs: 15 * 60_000,
    });
    return handle;
  }

  async waitReady(raw: SandboxHandle, options: OperationOptions = {}): Promise<Reachability> {
    const handle = raw as ComposeHandle;
    const host = hostOfHandle(handle, this.id);
    const runtime = composeRuntime(handle.compose_command);
    const timeoutSeconds = handle.wait_timeout;
    const session = this.#sessions.get(handle.sandbox_id) ?? (await openSession(host.ssh));
    try {
      const deadline = Date.now() + timeoutSeconds * 1000;
      let lastReport = '';
      for (;;) {
        const containers = parseContainers(
          await session.run(inspectProjectCommand(runtime, handle.compose_project), {
            what: 'inspecting the stack',
          }),
        );
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
        await sleep(1000, undefined, { signal: options.signal });
      }
    } finally {
      session.close();
      this.#sessions.delete(handle.sandbox_id);
    }
  }

  async teardown(raw: SandboxHandle, options: OperationOptions = {}): Promise<CleanupReport> {
    const handle = raw as Partial<ComposeHandle> & SandboxHandle;
    const host = hostOfHandle(handle, this.id);
    const runtime = composeRuntime(handle.compose_command ?? this.composeCommandText);
    const projectName = `sbx-${handle.sandbox_id}`;
    const session = this.#sessions.get(handle.sandbox_id) ?? (await openSession(host.ssh));
    this.#sessions.delete(handle.sandbox_id);
    try {
      const base = await resolveBaseDir(session, host.base_dir ?? this.#config.base_dir, 'base_dir');
      const dir = sandboxDirOf(base, handle.sandbox_id);
      const removed: string[] = [];
      // A create that was cancelled may have left `compose up` running on the host.
      await session.exec(stopProjectCommandsCommand(projectName), {
        what: 'stopping running compose commands',
      });
      if (handle.compose_files) {
        // A graceful stop first (services get stop_timeout to exit), then the label sweep below.
        options.progress?.(`${runtime.words.join(' ')} -p ${projectName} down -v --remove-orphans`);
        const project = { runtime, dir, project: projectName, files: handle.compose_files, env: {} };
        const down = await session.exec(
          composeCommand(project, 'down', '-v', '--remove-orphans', '-t', String(handle.stop_timeout ?? 10)),
          { what: 'compose down', timeoutMs: 10 * 60_000 },
        );
        if (down.code === 0) removed.push(`compose project ${projectName}`);
      }
      const swept = await session.run(sweepProjectCommand(runtime, projectName), {
        what: 'removing labelled resources',
      });
      removed.push(...swept.split('\n').filter(Boolean));
      const workspace = await removeWorkspace(session, dir, handle.sandbox_id);
      removed.push(...workspace.removed);
      const remaining = parseContainers(
        await session.run(inspectProjectCommand(runtime, projectName), { what: 'checking for leftovers' }),
      );
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

/**
 * From `compose config`'s merged view: the services to wait for, and an override file that labels
 * every service, the default network and each named volume with the sandbox id and its expiry.
 */
export function labelsOverride(
  configYaml: string,
  labels: Record<string, string>,
  selected: string[],
): { services: string[]; override: string } {
  const config = (parseYaml(configYaml) ?? {}) as {
    version?: string;
    services?: Record<string, unknown>;
    volumes?: Record<string, { external?: unknown } | null>;
    networks?: Record<string, { external?: unknown } | null>;
  };
  const all = Object.keys(config.services ?? {});
  const unknown = selected.filter((s) => !all.includes(s));
  if (unknown.length > 0) {
    throw new InputError(
      `input "services": ${unknown.join(', ')} not in the compose files (services: ${all.join(', ')})`,
    );
  }
  const override: Record<string, unknown> = {};
  if (config.version) override.version = String(config.version);
  override.services = Object.fromEntries(all.map((name) => [name, { labels }]));
  const volumes = Object.entries(config.volumes ?? {}).filter(([, v]) => !v?.external);
  if (volumes.length > 0) override.volumes = Object.fromEntries(volumes.map(([name]) => [name, { labels }]));
  if (!config.networks?.default?.external) override.networks = { default: { labels } };
  // Every value double-quoted: Compose v1 reads YAML 1.1, where an unquoted ISO time or `true` is not a string.
  const text = stringifyYaml(override, {
    defaultStringType: 'QUOTE_DOUBLE',
    // Keys too: a service named `on` or `yes` would be a boolean to YAML 1.1.
    defaultKeyType: 'QUOTE_DOUBLE',
    aliasDuplicateObjects: false,
  });
  return { services: selected.length > 0 ? selected : all, override: text };
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
