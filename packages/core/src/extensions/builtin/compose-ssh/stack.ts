import { InputError, ProvisionError, RemoteCommandError } from '../../../errors.js';
import type { SandboxHandle } from '../../../records/handle.js';
import type { RemoteHost } from '../../../records/host-target.js';
import { command, quote, remotePathInside } from '../../../ssh/quote.js';
import type { SshSession } from '../../../ssh/session.js';
import { lastLines } from '../../../ssh/tail-buffer.js';
import { destination } from '../../../ssh/target.js';
import type { ProgressFn, ProvisionRequest } from '../../contract.js';
import { armSwitchCommand } from '../remote-workspace/expiry-switch.js';
import { checkFloors } from '../remote-workspace/host-resources.js';
import type { SshAccess } from '../remote-workspace/ssh-access.js';
import { remoteHostOf } from '../remote-workspace/ssh-access.js';
import { removeWorkspaceCommand, resolveBaseDir, sandboxDirOf } from '../remote-workspace/workspace.js';
import {
  type ComposeProject,
  type ComposeRuntime,
  composeCommand,
  composeRuntime,
  LABELS_FILE,
  reapProjectCommand,
} from './commands.js';
import { describeServices, explainUnhealthy, unreadyContainers } from './diagnose.js';
import type { ComposeInputs } from './inputs.js';
import { labelsOverride } from './labels-override.js';
import { type ComposeModel, localComposeModel, mergedModel, modelOf } from './model.js';
import { checkPodmanCanServe } from './podman-limits.js';
import { isAuto, resolveRuntime } from './runtime-detect.js';

/**
 * One sandbox's compose stack on its host, as provision and restore build it: connect, name
 * everything, check the compose files and label them, arm the expiry switch, bring it up.
 */

/** What prepareStack needs: a provision request, or the same fields for an in-place restore. */
export type StackRequest = Pick<
  ProvisionRequest<ComposeInputs>,
  'sandboxId' | 'inputs' | 'host' | 'createdAt' | 'expiresAt' | 'leaseSeconds' | 'progress' | 'signal'
> &
  Partial<Pick<ProvisionRequest<ComposeInputs>, 'profile'>>;

/** One sandbox's stack on its host, while a provision or restore works on it. */
export interface Stack {
  sandboxId: string;
  session: SshSession;
  host: RemoteHost;
  base: string;
  dir: string;
  project: ComposeProject;
  labels: Record<string, string>;
  inputs: ComposeInputs;
  expiresAt: Date;
  /** The lease the host-side switch enforces, if any. */
  leaseSeconds: number | undefined;
  signal: AbortSignal | undefined;
  /** The labels file, made by configureStack and written by the next upStack (one round trip). */
  pendingLabels?: string;
}

/** What ext.compose-ssh stores in the sandbox record (no secrets: env keys, never values). */
export interface ComposeHandle extends SandboxHandle {
  remote_dir: string;
  compose_project: string;
  compose_command: string;
  compose_files: string[];
  services: string[];
  stop_timeout: number;
  wait_timeout: number;
  env_keys: string[];
  /** The host's sync cache this sandbox was filled from: teardown starts its next spare copy. */
  sync_cache?: string;
  /** When `up` started plus wait_timeout: readiness must be reached by then (ISO time). */
  ready_by?: string;
}

export interface StackSettings {
  extensionId: string;
  /** The base directory from the extension's config (a host entry's `base_dir` wins). */
  baseDir: string;
  /** `auto` (ask the host, see runtime-detect.ts) or the command to run, e.g. `docker-compose`. */
  composeCommand: string;
  /** How to connect: the caller's key, or the hosts' identity files. */
  access: SshAccess;
}

/** Connects, and works out everything that names this sandbox's stack on the host. */
export async function prepareStack(settings: StackSettings, request: StackRequest): Promise<Stack> {
  const { sandboxId, progress } = request;
  const { inputs } = request;
  const host = remoteHostOf(request.host, settings.extensionId);
  if (!isAuto(settings.composeCommand)) composeRuntime(settings.composeCommand); // refused before connecting
  progress?.(`connecting to ${host.name} (${destination(host.ssh)})`);
  const session = await settings.access.open(host.ssh);
  try {
    // Which compose the host has (`auto`) is asked alongside the base directory: no extra wait.
    const [runtime, base] = await Promise.all([
      resolveRuntime(session, settings.composeCommand),
      resolveBaseDir(session, host.base_dir ?? settings.baseDir, 'base_dir'),
    ]);
    if (isAuto(settings.composeCommand))
      progress?.(`compose runtime on ${host.name}: ${runtime.words.join(' ')}`);
    await checkFloors(session, host, base);
    await checkPodmanCanServe(session, runtime, request.profile, host.name);
    const dir = sandboxDirOf(base, sandboxId);
    const project: ComposeProject = {
      runtime,
      dir,
      project: `sbx-${sandboxId}`,
      files: [...inputs.composeFiles],
      env: inputs.env,
    };
    const labels = {
      'dev.sandboxer.managed': 'true',
      'dev.sandboxer.sandbox-id': sandboxId,
      'dev.sandboxer.created-at': request.createdAt.toISOString(),
      'dev.sandboxer.expires-at': request.expiresAt.toISOString(),
    };
    return {
      sandboxId,
      session,
      host,
      base,
      dir,
      project,
      labels,
      inputs,
      expiresAt: request.expiresAt,
      leaseSeconds: request.leaseSeconds,
      signal: request.signal,
    };
  } catch (error) {
    session.close();
    throw error;
  }
}

/** What the host-side switch runs at expiry for this stack: stop and sweep it, remove its directory. */
export function reapCommand(
  runtime: ComposeRuntime,
  base: string,
  sandboxId: string,
  stopTimeout: number,
): string {
  return `${reapProjectCommand(runtime, `sbx-${sandboxId}`, stopTimeout)}; ${removeWorkspaceCommand(sandboxDirOf(base, sandboxId), sandboxId)}`;
}

/** The command that arms the stack's host-side dead-man's switch (see expiry-switch.ts). */
export function stackSwitchCommand(stack: Stack): string {
  const reap = reapCommand(stack.project.runtime, stack.base, stack.sandboxId, stack.inputs.stopTimeout);
  return armSwitchCommand(stack.base, stack.sandboxId, stack.expiresAt, reap, stack.leaseSeconds);
}

/**
 * Makes the labels file (upStack writes it next to the compose files) and the handle. The names to label come
 * from the repo's compose files on this machine when `localRepo` is given and they are plain enough
 * (see localComposeModel); otherwise from `compose config` on the host, which also checks the files.
 * Either way a broken file fails `compose up` before anything is created.
 */
export async function configureStack(
  stack: Stack,
  progress: ProgressFn | undefined,
  localRepo?: string,
): Promise<ComposeHandle> {
  const { session, project, inputs } = stack;
  const words = project.runtime.words.join(' ');
  let model = localRepo === undefined ? undefined : localComposeModel(localRepo, project.files);
  if (model === undefined && project.runtime.engine === 'podman') {
    model = await hostFilesModel(stack);
  } else if (model === undefined && localRepo === undefined) {
    // A restore's files come from the snapshot, already on the host: read and merged here as a
    // create's are, which spares `compose config` (0.65 s on the testbed) whenever the files allow.
    model = await plainHostFilesModel(stack);
  }
  if (model === undefined) {
    progress?.(`checking ${project.files.join(', ')} with ${words} config`);
    model = modelOf(await session.run(composeCommand(project, 'config'), { what: 'compose config' }));
  }
  const { services, override } = labelsOverride(model, stack.labels, inputs.services, {
    podmanCompose: project.runtime.engine === 'podman',
  });
  progress?.(`labelling services ${services.join(', ')} (${LABELS_FILE})`);
  stack.pendingLabels = override;
  if (!project.files.includes(LABELS_FILE)) project.files.push(LABELS_FILE);
  return {
    sandbox_id: stack.sandboxId,
    host: stack.host.name,
    target: stack.host,
    remote_dir: stack.dir,
    compose_project: project.project,
    compose_command: words,
    compose_files: project.files,
    services,
    stop_timeout: inputs.stopTimeout,
    wait_timeout: inputs.waitTimeout,
    env_keys: Object.keys(project.env),
  };
}

/**
 * The compose files as they are on the host, merged here: podman-compose 1.0.3 has no `config`
 * (exit 2), so a restore (whose files come from the snapshot, not this machine) reads them itself.
 */
async function hostFilesModel(stack: Stack): Promise<ComposeModel> {
  const model = mergedModel(await hostFileTexts(stack));
  if (!model) {
    throw new InputError(
      `input "compose_files": ${stack.project.files.join(', ')} need \`compose config\` to be read (include, extends from another file, profiles or interpolated names), which podman-compose 1.0.3 does not have: simplify them, or use Docker Compose on this host`,
    );
  }
  return model;
}

/**
 * Docker Compose: the host's files merged here as a create merges its local ones, or undefined when
 * only `compose config` can tell (or a file cannot be read): `config` then runs and words any error.
 */
async function plainHostFilesModel(stack: Stack): Promise<ComposeModel | undefined> {
  const texts = await hostFileTexts(stack).catch(() => undefined);
  return texts && mergedModel(texts);
}

async function hostFileTexts(stack: Stack): Promise<string[]> {
  const texts: string[] = [];
  for (const file of stack.project.files) {
    texts.push(
      await stack.session.run(command('cat', '--', remotePathInside(stack.dir, file)), {
        what: `reading ${file}`,
        maxOutputBytes: 1024 * 1024,
      }),
    );
  }
  return texts;
}

/**
 * `compose up -d` (or `up --no-start`, so a restore can fill the volumes before anything runs).
 * Returns the time readiness must be reached by: `up -d` starts the wait_timeout budget, and itself
 * may spend no more of it (Compose waits inside `up` for `depends_on: condition: service_healthy`).
 */
export async function upStack(
  stack: Stack,
  progress: ProgressFn | undefined,
  mode: '-d' | '--no-start' = '-d',
): Promise<string> {
  const { project, inputs, pendingLabels } = stack;
  progress?.(`${project.runtime.words.join(' ')} -p ${project.project} up ${mode}`);
  stack.signal?.throwIfAborted();
  const up = composeCommand(project, 'up', mode, ...inputs.services);
  // The directory holds the user's repo: a planted symlink of this name must not redirect the write,
  // so the name is removed (a link goes, not its target) and made afresh (`set -C`: O_EXCL).
  const labels = quote(`${stack.dir}/${LABELS_FILE}`);
  const writeLabels = `rm -f -- ${labels} && (set -C && cat > ${labels})`;
  const budgetMs = inputs.waitTimeout * 1000;
  const readyBy = new Date(Date.now() + budgetMs).toISOString();
  const result = await stack.session.exec(pendingLabels === undefined ? up : `${writeLabels} && ${up}`, {
    ...(pendingLabels === undefined ? {} : { stdin: pendingLabels }),
    what: mode === '-d' ? 'compose up' : 'compose up --no-start',
    // `--no-start` builds and pulls but waits for nothing: the fixed limit it always had.
    timeoutMs: mode === '-d' ? budgetMs : 15 * 60_000,
  });
  stack.pendingLabels = undefined;
  if (result.timedOut || result.code !== 0) await failUp(stack, result, mode);
  return readyBy;
}

/** Why `up` failed, naming services (with their health checks and logs) where Compose named containers. */
async function failUp(
  stack: Stack,
  result: { code: number | null; timedOut?: boolean; stdout: string; stderr: string },
  mode: string,
): Promise<never> {
  const { session, project, inputs } = stack;
  const where = `${project.project} on ${session.destination}`;
  const output = `${result.stderr}\n${result.stdout}`;
  if (result.timedOut) {
    const unready = await unreadyContainers(session, project.runtime, project.project).catch(() => []);
    const list = unready.map((c) => `${c.service} (${c.status})`).join(', ') || 'none started';
    throw new ProvisionError(
      `compose up ${mode} of ${where} did not finish within wait_timeout (${inputs.waitTimeout} s); waiting for: ${list}\n${await describeServices(session, project.runtime, unready).catch(() => '')}`,
      { wait_timeout: inputs.waitTimeout, services: unready.map((c) => c.service) },
    );
  }
  const unhealthy = await explainUnhealthy(session, project.runtime, project.project, output).catch(
    () => undefined,
  );
  const tail = lastLines(result.stderr || result.stdout, 20);
  if (unhealthy) {
    throw new ProvisionError(`compose up ${mode} of ${where} failed (exit ${result.code}): ${unhealthy}`, {
      exit_code: result.code,
    });
  }
  // `docker compose` on a v1-only host: "unknown shorthand flag: 'p' in -p" or "unknown command".
  const words = project.runtime.words.join(' ');
  const missing = /unknown shorthand flag|unknown command|command not found|No such file/.test(output)
    ? `\n(is \`${words}\` installed on ${session.destination}? compose-command / SANDBOXER_COMPOSE_CMD names another, and \`auto\` finds the one the host has)`
    : '';
  throw new RemoteCommandError(
    `compose up ${mode === '-d' ? '' : `${mode} `}on ${session.destination} failed (exit ${result.code})${tail ? `:\n${tail}` : ''}${missing}`,
    result.code,
  );
}

export { labelsOverride } from './labels-override.js';
