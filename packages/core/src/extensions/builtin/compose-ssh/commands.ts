import { posix } from 'node:path';
import { InputError, messageOf } from '../../../errors.js';
import { and, command, quote, remotePathInside } from '../../../ssh/quote.js';
import { nextSpareCommand } from '../../../sync/host-cache.js';
import { disarmSwitchCommand } from '../remote-workspace/expiry-switch.js';
import { removeWorkspaceCommand } from '../remote-workspace/workspace.js';

/**
 * Pure builders for every compose and docker command ext.compose-ssh sends, from quoted arguments
 * only. Tested by table, including hostile values.
 */

/** The label Compose puts on everything it creates for a project; used to find leftovers. */
export const PROJECT_LABEL = 'com.docker.compose.project';

/** Generated next to the user's compose files: labels every resource with the sandbox id and expiry. */
export const LABELS_FILE = '.sandboxer-compose.labels.yml';

export interface ComposeRuntime {
  /** `docker compose`, `docker-compose`, `podman-compose`: the words to run. */
  words: string[];
  /** The container engine CLI for inspect/logs/cleanup: `docker` or `podman`. */
  engine: 'docker' | 'podman';
}

/** Parses a compose command such as `docker compose` (from config or SANDBOXER_COMPOSE_CMD). */
export function composeRuntime(text: string): ComposeRuntime {
  const words = text.trim().split(/\s+/);
  // The first word follows `env`, which would read a leading "-" as its own option.
  if (words[0]?.startsWith('-') || words.some((w) => !/^[A-Za-z0-9_./-]+$/.test(w))) {
    throw new InputError(
      `compose command ${JSON.stringify(text)}: expected words like "docker compose", "docker-compose" or "podman-compose"`,
    );
  }
  return { words, engine: posix.basename(words[0] ?? '').startsWith('podman') ? 'podman' : 'docker' };
}

/** Everything that identifies one sandbox's compose project on the host. */
export interface ComposeProject {
  runtime: ComposeRuntime;
  dir: string;
  project: string;
  /** Compose files, relative to `dir`. */
  files: string[];
  env: Record<string, string>;
}

/** `cd <dir> && env K=V … <compose> -p <project> -f … <args>`. */
export function composeCommand(p: ComposeProject, ...args: string[]): string {
  const env = Object.entries(p.env).map(([key, value]) => `${key}=${value}`);
  const files = p.files.flatMap((file) => ['-f', file]);
  return and(
    command('cd', '--', p.dir),
    command('env', ...env, ...p.runtime.words, '-p', p.project, ...files, ...args),
  );
}

/**
 * `down`'s arguments: a graceful stop, volumes, and with Docker's Compose the orphans and (unless a
 * restore in place keeps them to build the same stack) the images it built. podman-compose 1.0.3
 * refuses both options (exit 2, nothing done): there the label sweep removes what they would.
 */
export function composeDownArgs(
  runtime: ComposeRuntime,
  stopTimeout: number,
  options: { keepImages?: boolean } = {},
): string[] {
  const rmi = options.keepImages ? [] : ['--rmi', 'local'];
  const docker = runtime.engine === 'docker' ? ['--remove-orphans', ...rmi] : [];
  return ['down', '-v', ...docker, '-t', String(stopTimeout)];
}

/** One JSON object per container of the project; `$ids` unquoted: hex ids from the engine itself. */
export function inspectProjectCommand(runtime: Pick<ComposeRuntime, 'engine'>, project: string): string {
  // Docker formats a container without a healthcheck as a map with no such key, which a plain
  // `.Config.Healthcheck` makes a template error; `index` gives null. Podman's is a struct field.
  const healthcheck =
    runtime.engine === 'docker' ? '{{json (index .Config "Healthcheck")}}' : '{{json .Config.Healthcheck}}';
  // `"{{.Id}}"`, not `{{json .Id}}`: Podman 4.3's template refuses `json` of a field at the top
  // level ("can't evaluate field Id in type interface {}"); an id is hex, safe unescaped.
  const format = `{"id":"{{.Id}}","labels":{{json .Config.Labels}},"state":{{json .State}},"ports":{{json .NetworkSettings.Ports}},"mounts":{{json .Mounts}},"healthcheck":${healthcheck}}`;
  // `|| exit`: an engine that does not answer must not read as "no containers".
  return `ids=$(${command(runtime.engine, 'ps', '-aq', '--filter', `label=${PROJECT_LABEL}=${project}`)}) || exit 3; [ -z "$ids" ] || ${command(runtime.engine, 'inspect', '--format', format)} $ids`;
}

/** The last `lines` log lines of one container (stdout and stderr merged). */
export function logsTailCommand(
  runtime: Pick<ComposeRuntime, 'engine'>,
  containerId: string,
  lines: number,
): string {
  return logsCommand(runtime, containerId, { lines });
}

/** One container's log: the last `lines`, only newer than `since`, and with `follow` as it grows. */
export function logsCommand(
  runtime: Pick<ComposeRuntime, 'engine'>,
  containerId: string,
  options: { lines: number; since?: string; follow?: boolean },
): string {
  if (!/^[0-9a-f]{12,64}$/.test(containerId)) throw new InputError(`not a container id: ${containerId}`);
  if (options.since !== undefined && !/^[0-9A-Za-z][0-9A-Za-z:.+-]{0,39}$/.test(options.since)) {
    throw new InputError(
      `since: expected a duration such as 10m or a timestamp, got ${JSON.stringify(options.since)}`,
      {
        field: 'since',
      },
    );
  }
  const args = [
    'logs',
    '--tail',
    String(options.lines),
    ...(options.since ? ['--since', options.since] : []),
    ...(options.follow ? ['--follow'] : []),
    containerId,
  ];
  return `${command(runtime.engine, ...args)} 2>&1`;
}

/**
 * Runs argv in a running container of one compose service (`<engine> exec -i`, stdin passed on),
 * found by Compose's own labels; exit 127 with a message when the service has none running.
 * What `compose exec -T` does, but the same for Compose v1, v2 and podman-compose, and without the
 * compose files (v1 wants them back to find a service; podman-compose's exec has no -i).
 */
export function serviceExecCommand(
  runtime: ComposeRuntime,
  project: string,
  service: string,
  argv: string[],
): string {
  if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(service)) {
    throw new InputError(`service: ${JSON.stringify(service)} is not a service name`, { field: 'service' });
  }
  if (argv.length === 0) throw new InputError('nothing to run: give a command', { field: 'command' });
  const list = command(
    runtime.engine,
    'ps',
    '-q',
    '--filter',
    `label=${PROJECT_LABEL}=${project}`,
    '--filter',
    `label=com.docker.compose.service=${service}`,
  );
  return [
    `id=$(${list} | head -n 1) || exit 125`,
    `[ -n "$id" ] || { echo ${quote(`no running container of service ${service}`)} >&2; exit 127; }`,
    `exec ${command(runtime.engine, 'exec', '-i')} "$id" ${command(...argv)}`,
  ].join('; ');
}

/**
 * Removes whatever still carries the project's label (containers, then networks, then volumes) and
 * prints one `<kind> <id>` line for each thing removed. The safety net after `compose down`, and the
 * only way to clean up once the sandbox directory (and so the compose file) is gone.
 */
export function sweepProjectCommand(runtime: Pick<ComposeRuntime, 'engine'>, project: string): string {
  const filter = ['--filter', `label=${PROJECT_LABEL}=${project}`];
  const e = runtime.engine;
  // Each list must succeed (`|| exit`): an engine that does not answer is a failed sweep, not an empty one.
  const sweep = (kind: string, list: string, remove: string) =>
    `xs=$(${list}) || exit 3; for x in $xs; do ${remove} "$x" >/dev/null && echo ${kind} "$x"; done`;
  return [
    sweep('container', command(e, 'ps', '-aq', ...filter), command(e, 'rm', '-f', '-v')),
    sweep('network', command(e, 'network', 'ls', '-q', ...filter), command(e, 'network', 'rm')),
    sweep('volume', command(e, 'volume', 'ls', '-q', ...filter), command(e, 'volume', 'rm', '-f')),
    sweepBuiltImagesCommand(e, project),
    'true',
  ].join('; ');
}

/**
 * Removes the images Compose built for the project, printing `image <name>` for each. They carry no
 * project label (no runtime labels them), only the name Compose gives: `<project>_<service>` (v1,
 * podman-compose, whose Podman adds `localhost/`) or `<project>-<service>` (v2); the project is `sbx-`
 * and a fixed-length id, so it cannot match another sandbox's. One still in use stays.
 */
export function sweepBuiltImagesCommand(engine: ComposeRuntime['engine'], project: string): string {
  const p = quote(project);
  const list = command(engine, 'images', '--format', '{{.Repository}}:{{.Tag}}');
  return `xs=$(${list}) || exit 3; for x in $xs; do case "$x" in ${p}_*|${p}-*|localhost/${p}_*|localhost/${p}-*) ${command(engine, 'rmi')} "$x" >/dev/null 2>&1 && echo image "$x";; esac; done`;
}

/**
 * What the host-side switch runs at expiry: a graceful stop of the project's containers, then the
 * label sweep. Needs no compose file (the workspace may be half-made), only the engine.
 */
export function reapProjectCommand(
  runtime: Pick<ComposeRuntime, 'engine'>,
  project: string,
  stopTimeout: number,
): string {
  const ids = `ids=$(${command(runtime.engine, 'ps', '-q', '--filter', `label=${PROJECT_LABEL}=${project}`)})`;
  return `${ids}; [ -z "$ids" ] || ${command(runtime.engine, 'stop', '-t', String(stopTimeout))} $ids; ${sweepProjectCommand(runtime, project)}`;
}

/**
 * Stops compose commands still running for this project (e.g. an `up` whose caller was cancelled),
 * so teardown does not race them. The `[s]` keeps pkill from matching its own command line.
 */
export function stopProjectCommandsCommand(project: string): string {
  const pattern = `-p [s]${project.slice(1)}( |$)`;
  // The pause only when something was stopped: a normal teardown must not pay a second for nothing.
  return `if command -v pkill >/dev/null 2>&1; then ${command('pkill', '-TERM', '-f', '--', pattern)} && sleep 1; fi; true`;
}

/** Comma- or newline-separated list input → trimmed, non-empty items. */
export function listInput(text: string | undefined): string[] {
  return (text ?? '')
    .split(/[,\n]/)
    .map((item) => item.trim())
    .filter(Boolean);
}

/** Compose file paths are relative to the sandbox directory and must stay inside it. */
export function composeFilesInput(text: string | undefined, dir: string): string[] {
  const files = listInput(text);
  if (files.length === 0) throw new InputError('input "compose_files": name at least one compose file');
  for (const file of files) {
    if (file.startsWith('/')) {
      throw new InputError(
        `input "compose_files": ${JSON.stringify(file)} must be relative to the repo, not absolute`,
      );
    }
    try {
      remotePathInside(dir, file);
    } catch (error) {
      throw new InputError(`input "compose_files": ${messageOf(error)}`);
    }
  }
  return files;
}

/** Service names as Compose allows them. */
export function servicesInput(text: string | undefined): string[] {
  const services = listInput(text);
  for (const s of services) {
    if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(s)) {
      throw new InputError(`input "services": ${JSON.stringify(s)} is not a service name`);
    }
  }
  return services;
}

/** `KEY=VALUE` lines (a value may contain commas) → env for compose's variable substitution. */
export function envInput(text: string | undefined): Record<string, string> {
  // Entries, not assignment: a key such as `__proto__` must stay a key, not set a prototype.
  const env = new Map<string, string>();
  for (const line of (text ?? '').split(/\r?\n/)) {
    if (!line.trim()) continue;
    const eq = line.indexOf('=');
    const key = eq > 0 ? line.slice(0, eq).trim() : '';
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) {
      throw new InputError(
        `input "env": expected KEY=VALUE lines with KEY like "API_URL", got ${JSON.stringify(line)}`,
      );
    }
    env.set(key, line.slice(eq + 1));
  }
  return Object.fromEntries(env);
}

/** Shell-quoted for messages that show a command a user can paste. */
export function pasteable(...args: string[]): string {
  return args.map(quote).join(' ');
}

/** Separates the parts of cleanUpScript's output. */
export const TEARDOWN_SECTION = '--- sandboxer teardown section ---';

/**
 * After `compose down`: sweep what still carries the project's label (an engine that does not answer
 * fails the script), remove the directory (removeWorkspaceCommand), list what is left, and disarm
 * the switch if nothing is; then start the next spare copy of the sync cache the sandbox came from
 * (prepareSpareCommand). Three outputs, separated by TEARDOWN_SECTION lines.
 */
export function cleanUpScript(
  engines: Array<Pick<ComposeRuntime, 'engine'>>,
  project: string,
  base: string,
  dir: string,
  sandboxId: string,
  syncCache?: string,
): string {
  const spare = nextSpareCommand(base, syncCache);
  // Each engine's check in a subshell: inspectProjectCommand exits on a failed list.
  const check = engines.map((e) => `(${inspectProjectCommand(e, project)})`).join(' && ');
  return [
    ...engines.map((e) => `(${sweepProjectCommand(e, project)}) || exit 3`),
    `echo ${quote(TEARDOWN_SECTION)}`,
    `r=$(${removeWorkspaceCommand(dir, sandboxId)}); printf '%s\n' "$r"`,
    `echo ${quote(TEARDOWN_SECTION)}`,
    `out=$( ${check || 'true'} ) || exit 4; [ -z "$out" ] || printf '%s\n' "$out"`,
    `case "$r" in removed|absent) [ -n "$out" ] || { ${disarmSwitchCommand(base, sandboxId)}; } >/dev/null;; esac`,
    ...(spare ? [`${spare}; true`] : []),
  ].join('\n');
}
