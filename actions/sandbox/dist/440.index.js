"use strict";
exports.id = 440;
exports.ids = [440];
exports.modules = {

/***/ 2440:
/***/ ((__unused_webpack___webpack_module__, __webpack_exports__, __webpack_require__) => {

// ESM COMPAT FLAG
__webpack_require__.r(__webpack_exports__);

// EXPORTS
__webpack_require__.d(__webpack_exports__, {
  ComposeSshExtension: () => (/* binding */ ComposeSshExtension),
  createComposeSsh: () => (/* binding */ createComposeSsh)
});

// EXTERNAL MODULE: ../../node_modules/.pnpm/zod@4.6.7/node_modules/zod/v4/classic/schemas.js + 11 modules
var schemas = __webpack_require__(8215);
// EXTERNAL MODULE: ../../packages/core/dist/sync/host-cache.js
var host_cache = __webpack_require__(4946);
// EXTERNAL MODULE: ../../packages/core/dist/extensions/inputs.js
var inputs = __webpack_require__(9309);
// EXTERNAL MODULE: ../../packages/core/dist/extensions/builtin/remote-workspace/channel.js
var channel = __webpack_require__(5126);
// EXTERNAL MODULE: ../../packages/core/dist/extensions/builtin/remote-workspace/expiry-switch.js
var expiry_switch = __webpack_require__(3359);
// EXTERNAL MODULE: ../../packages/core/dist/extensions/builtin/remote-workspace/host-resources.js
var host_resources = __webpack_require__(1115);
// EXTERNAL MODULE: ../../packages/core/dist/extensions/builtin/remote-workspace/host-scan.js
var host_scan = __webpack_require__(325);
// EXTERNAL MODULE: ../../packages/core/dist/extensions/builtin/remote-workspace/ssh-access.js
var ssh_access = __webpack_require__(1750);
// EXTERNAL MODULE: ../../packages/core/dist/extensions/builtin/remote-workspace/sync.js
var remote_workspace_sync = __webpack_require__(178);
// EXTERNAL MODULE: ../../packages/core/dist/extensions/builtin/remote-workspace/workspace.js
var remote_workspace_workspace = __webpack_require__(1744);
// EXTERNAL MODULE: external "node:path"
var external_node_path_ = __webpack_require__(6760);
// EXTERNAL MODULE: ../../packages/core/dist/errors.js
var errors = __webpack_require__(1092);
// EXTERNAL MODULE: ../../packages/core/dist/ssh/quote.js
var ssh_quote = __webpack_require__(5810);
;// CONCATENATED MODULE: ../../packages/core/dist/extensions/builtin/compose-ssh/commands.js






/**
 * Pure builders for every compose and docker command ext.compose-ssh sends, from quoted arguments
 * only. Tested by table, including hostile values.
 */
/** The label Compose puts on everything it creates for a project; used to find leftovers. */
const PROJECT_LABEL = 'com.docker.compose.project';
/** Generated next to the user's compose files: labels every resource with the sandbox id and expiry. */
const LABELS_FILE = '.sandboxer-compose.labels.yml';
/** Parses a compose command such as `docker compose` (from config or SANDBOXER_COMPOSE_CMD). */
function composeRuntime(text) {
    const words = text.trim().split(/\s+/);
    // The first word follows `env`, which would read a leading "-" as its own option.
    if (words[0]?.startsWith('-') || words.some((w) => !/^[A-Za-z0-9_./-]+$/.test(w))) {
        throw new errors/* InputError */.dz(`compose command ${JSON.stringify(text)}: expected words like "docker compose", "docker-compose" or "podman-compose"`);
    }
    return { words, engine: external_node_path_.posix.basename(words[0] ?? '').startsWith('podman') ? 'podman' : 'docker' };
}
/** `cd <dir> && env K=V … <compose> -p <project> -f … <args>`. */
function composeCommand(p, ...args) {
    const env = Object.entries(p.env).map(([key, value]) => `${key}=${value}`);
    const files = p.files.flatMap((file) => ['-f', file]);
    return (0,ssh_quote/* and */.Uo)((0,ssh_quote/* command */.G5)('cd', '--', p.dir), (0,ssh_quote/* command */.G5)('env', ...env, ...p.runtime.words, '-p', p.project, ...files, ...args));
}
/**
 * `down`'s arguments: a graceful stop, volumes, and with Docker's Compose the orphans and (unless a
 * restore in place keeps them to build the same stack) the images it built. podman-compose 1.0.3
 * refuses both options (exit 2, nothing done): there the label sweep removes what they would.
 */
function composeDownArgs(runtime, stopTimeout, options = {}) {
    const rmi = options.keepImages ? [] : ['--rmi', 'local'];
    const docker = runtime.engine === 'docker' ? ['--remove-orphans', ...rmi] : [];
    return ['down', '-v', ...docker, '-t', String(stopTimeout)];
}
/** One JSON object per container of the project; `$ids` unquoted: hex ids from the engine itself. */
function inspectProjectCommand(runtime, project) {
    // Docker formats a container without a healthcheck as a map with no such key, which a plain
    // `.Config.Healthcheck` makes a template error; `index` gives null. Podman's is a struct field.
    const healthcheck = runtime.engine === 'docker' ? '{{json (index .Config "Healthcheck")}}' : '{{json .Config.Healthcheck}}';
    // `"{{.Id}}"`, not `{{json .Id}}`: Podman 4.3's template refuses `json` of a field at the top
    // level ("can't evaluate field Id in type interface {}"); an id is hex, safe unescaped.
    const format = `{"id":"{{.Id}}","labels":{{json .Config.Labels}},"state":{{json .State}},"ports":{{json .NetworkSettings.Ports}},"mounts":{{json .Mounts}},"healthcheck":${healthcheck}}`;
    // `|| exit`: an engine that does not answer must not read as "no containers".
    return `ids=$(${(0,ssh_quote/* command */.G5)(runtime.engine, 'ps', '-aq', '--filter', `label=${PROJECT_LABEL}=${project}`)}) || exit 3; [ -z "$ids" ] || ${(0,ssh_quote/* command */.G5)(runtime.engine, 'inspect', '--format', format)} $ids`;
}
/** The last `lines` log lines of one container (stdout and stderr merged). */
function logsTailCommand(runtime, containerId, lines) {
    return logsCommand(runtime, containerId, { lines });
}
/** One container's log: the last `lines`, only newer than `since`, and with `follow` as it grows. */
function logsCommand(runtime, containerId, options) {
    if (!/^[0-9a-f]{12,64}$/.test(containerId))
        throw new errors/* InputError */.dz(`not a container id: ${containerId}`);
    if (options.since !== undefined && !/^[0-9A-Za-z][0-9A-Za-z:.+-]{0,39}$/.test(options.since)) {
        throw new errors/* InputError */.dz(`since: expected a duration such as 10m or a timestamp, got ${JSON.stringify(options.since)}`, {
            field: 'since',
        });
    }
    const args = [
        'logs',
        '--tail',
        String(options.lines),
        ...(options.since ? ['--since', options.since] : []),
        ...(options.follow ? ['--follow'] : []),
        containerId,
    ];
    return `${(0,ssh_quote/* command */.G5)(runtime.engine, ...args)} 2>&1`;
}
/**
 * Runs argv in a running container of one compose service (`<engine> exec -i`, stdin passed on),
 * found by Compose's own labels; exit 127 with a message when the service has none running.
 * What `compose exec -T` does, but the same for Compose v1, v2 and podman-compose, and without the
 * compose files (v1 wants them back to find a service; podman-compose's exec has no -i).
 */
function serviceExecCommand(runtime, project, service, argv) {
    if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(service)) {
        throw new errors/* InputError */.dz(`service: ${JSON.stringify(service)} is not a service name`, { field: 'service' });
    }
    if (argv.length === 0)
        throw new errors/* InputError */.dz('nothing to run: give a command', { field: 'command' });
    const list = (0,ssh_quote/* command */.G5)(runtime.engine, 'ps', '-q', '--filter', `label=${PROJECT_LABEL}=${project}`, '--filter', `label=com.docker.compose.service=${service}`);
    return [
        `id=$(${list} | head -n 1) || exit 125`,
        `[ -n "$id" ] || { echo ${(0,ssh_quote/* quote */.hD)(`no running container of service ${service}`)} >&2; exit 127; }`,
        `exec ${(0,ssh_quote/* command */.G5)(runtime.engine, 'exec', '-i')} "$id" ${(0,ssh_quote/* command */.G5)(...argv)}`,
    ].join('; ');
}
/**
 * Removes whatever still carries the project's label (containers, then networks, then volumes) and
 * prints one `<kind> <id>` line for each thing removed. The safety net after `compose down`, and the
 * only way to clean up once the sandbox directory (and so the compose file) is gone.
 */
function sweepProjectCommand(runtime, project) {
    const filter = ['--filter', `label=${PROJECT_LABEL}=${project}`];
    const e = runtime.engine;
    // Each list must succeed (`|| exit`): an engine that does not answer is a failed sweep, not an empty one.
    const sweep = (kind, list, remove) => `xs=$(${list}) || exit 3; for x in $xs; do ${remove} "$x" >/dev/null && echo ${kind} "$x"; done`;
    return [
        sweep('container', (0,ssh_quote/* command */.G5)(e, 'ps', '-aq', ...filter), (0,ssh_quote/* command */.G5)(e, 'rm', '-f', '-v')),
        sweep('network', (0,ssh_quote/* command */.G5)(e, 'network', 'ls', '-q', ...filter), (0,ssh_quote/* command */.G5)(e, 'network', 'rm')),
        sweep('volume', (0,ssh_quote/* command */.G5)(e, 'volume', 'ls', '-q', ...filter), (0,ssh_quote/* command */.G5)(e, 'volume', 'rm', '-f')),
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
function sweepBuiltImagesCommand(engine, project) {
    const p = (0,ssh_quote/* quote */.hD)(project);
    const list = (0,ssh_quote/* command */.G5)(engine, 'images', '--format', '{{.Repository}}:{{.Tag}}');
    return `xs=$(${list}) || exit 3; for x in $xs; do case "$x" in ${p}_*|${p}-*|localhost/${p}_*|localhost/${p}-*) ${(0,ssh_quote/* command */.G5)(engine, 'rmi')} "$x" >/dev/null 2>&1 && echo image "$x";; esac; done`;
}
/**
 * What the host-side switch runs at expiry: a graceful stop of the project's containers, then the
 * label sweep. Needs no compose file (the workspace may be half-made), only the engine.
 */
function reapProjectCommand(runtime, project, stopTimeout) {
    const ids = `ids=$(${(0,ssh_quote/* command */.G5)(runtime.engine, 'ps', '-q', '--filter', `label=${PROJECT_LABEL}=${project}`)})`;
    return `${ids}; [ -z "$ids" ] || ${(0,ssh_quote/* command */.G5)(runtime.engine, 'stop', '-t', String(stopTimeout))} $ids; ${sweepProjectCommand(runtime, project)}`;
}
/**
 * Stops compose commands still running for this project (e.g. an `up` whose caller was cancelled),
 * so teardown does not race them. The `[s]` keeps pkill from matching its own command line.
 */
function stopProjectCommandsCommand(project) {
    const pattern = `-p [s]${project.slice(1)}( |$)`;
    // The pause only when something was stopped: a normal teardown must not pay a second for nothing.
    return `if command -v pkill >/dev/null 2>&1; then ${(0,ssh_quote/* command */.G5)('pkill', '-TERM', '-f', '--', pattern)} && sleep 1; fi; true`;
}
/** Comma- or newline-separated list input → trimmed, non-empty items. */
function listInput(text) {
    return (text ?? '')
        .split(/[,\n]/)
        .map((item) => item.trim())
        .filter(Boolean);
}
/** Compose file paths are relative to the sandbox directory and must stay inside it. */
function composeFilesInput(text, dir) {
    const files = listInput(text);
    if (files.length === 0)
        throw new errors/* InputError */.dz('input "compose_files": name at least one compose file');
    for (const file of files) {
        if (file.startsWith('/')) {
            throw new errors/* InputError */.dz(`input "compose_files": ${JSON.stringify(file)} must be relative to the repo, not absolute`);
        }
        try {
            (0,ssh_quote/* remotePathInside */._Y)(dir, file);
        }
        catch (error) {
            throw new errors/* InputError */.dz(`input "compose_files": ${(0,errors/* messageOf */.bD)(error)}`);
        }
    }
    return files;
}
/** Service names as Compose allows them. */
function servicesInput(text) {
    const services = listInput(text);
    for (const s of services) {
        if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(s)) {
            throw new errors/* InputError */.dz(`input "services": ${JSON.stringify(s)} is not a service name`);
        }
    }
    return services;
}
/** `KEY=VALUE` lines (a value may contain commas) → env for compose's variable substitution. */
function envInput(text) {
    // Entries, not assignment: a key such as `__proto__` must stay a key, not set a prototype.
    const env = new Map();
    for (const line of (text ?? '').split(/\r?\n/)) {
        if (!line.trim())
            continue;
        const eq = line.indexOf('=');
        const key = eq > 0 ? line.slice(0, eq).trim() : '';
        if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) {
            throw new errors/* InputError */.dz(`input "env": expected KEY=VALUE lines with KEY like "API_URL", got ${JSON.stringify(line)}`);
        }
        env.set(key, line.slice(eq + 1));
    }
    return Object.fromEntries(env);
}
/** Shell-quoted for messages that show a command a user can paste. */
function pasteable(...args) {
    return args.map(quote).join(' ');
}
/** Separates the parts of cleanUpScript's output. */
const TEARDOWN_SECTION = '--- sandboxer teardown section ---';
/**
 * After `compose down`: sweep what still carries the project's label (an engine that does not answer
 * fails the script), remove the directory (removeWorkspaceCommand), list what is left, and disarm
 * the switch if nothing is; then start the next spare copy of the sync cache the sandbox came from
 * (prepareSpareCommand). Three outputs, separated by TEARDOWN_SECTION lines.
 */
function cleanUpScript(engines, project, base, dir, sandboxId, syncCache) {
    const spare = (0,host_cache/* nextSpareCommand */.AT)(base, syncCache);
    // Each engine's check in a subshell: inspectProjectCommand exits on a failed list.
    const check = engines.map((e) => `(${inspectProjectCommand(e, project)})`).join(' && ');
    return [
        ...engines.map((e) => `(${sweepProjectCommand(e, project)}) || exit 3`),
        `echo ${(0,ssh_quote/* quote */.hD)(TEARDOWN_SECTION)}`,
        `r=$(${(0,remote_workspace_workspace/* removeWorkspaceCommand */.$e)(dir, sandboxId)}); printf '%s\n' "$r"`,
        `echo ${(0,ssh_quote/* quote */.hD)(TEARDOWN_SECTION)}`,
        `out=$( ${check || 'true'} ) || exit 4; [ -z "$out" ] || printf '%s\n' "$out"`,
        `case "$r" in removed|absent) [ -n "$out" ] || { ${(0,expiry_switch/* disarmSwitchCommand */.eK)(base, sandboxId)}; } >/dev/null;; esac`,
        ...(spare ? [`${spare}; true`] : []),
    ].join('\n');
}
//# sourceMappingURL=commands.js.map
// EXTERNAL MODULE: ../../packages/core/dist/sync/ignore-rules.js
var ignore_rules = __webpack_require__(9035);
;// CONCATENATED MODULE: ../../packages/core/dist/extensions/builtin/compose-ssh/inputs.js






const seconds = (what) => schemas/* string */.YjP().regex(/^\d+$/, `must be a whole number of seconds for ${what}`).transform(Number);
/**
 * Seconds `compose down` gives a service to stop before killing it. A sandbox's data is thrown away,
 * so nothing is gained by waiting Docker's 10 s for services that ignore SIGTERM (busybox httpd and
 * many shells as PID 1 do): a profile that must flush coverage or logs asks for more.
 */
const DEFAULT_STOP_GRACE = 2;
/** The least a `stop`-consistency snapshot gives services: their data is being kept. */
const SNAPSHOT_STOP_GRACE = 10;
const composeInputsSchema = schemas/* looseObject */._H3({
    // Declared `local-path` (ext.compose-ssh.yaml): core has made it absolute and checked it is a directory.
    repo: schemas/* string */.YjP().refine(external_node_path_.isAbsolute, 'must be an absolute path to a local directory').optional(),
    compose_files: schemas/* string */.YjP().default('docker-compose.yml'),
    services: schemas/* string */.YjP().default(''),
    env: schemas/* string */.YjP().default(''),
    stop_timeout: seconds('stop_timeout').default(DEFAULT_STOP_GRACE),
    wait_timeout: seconds('wait_timeout').default(120),
    sync_method: schemas/* enum */.k5n(['auto', 'rsync', 'tar']).default('auto'),
});
/** Parses compose-ssh's inputs; `repo` is required unless the sandbox comes from a snapshot. */
function parseComposeInputs(extensionId, raw, options = {}) {
    const parsed = (0,inputs/* parseInputs */.T)(extensionId, composeInputsSchema, raw);
    if (!options.restore && parsed.repo === undefined) {
        throw new errors/* InputError */.dz(`${extensionId}: input "repo": is required (give it, or set a default in the profile)`, {
            extension: extensionId,
            inputs: ['repo'],
        });
    }
    // Its .sandboxerignore is read now, so a bad one is refused before anything is made.
    if (!options.restore && parsed.repo !== undefined)
        (0,ignore_rules/* loadRepoIgnore */.ld)(parsed.repo);
    return {
        repo: options.restore ? undefined : parsed.repo,
        composeFiles: composeFilesInput(parsed.compose_files, '/check'),
        services: servicesInput(parsed.services),
        env: envInput(parsed.env),
        stopTimeout: parsed.stop_timeout,
        waitTimeout: parsed.wait_timeout,
        syncMethod: parsed.sync_method,
    };
}
//# sourceMappingURL=inputs.js.map
;// CONCATENATED MODULE: ../../packages/core/dist/extensions/builtin/compose-ssh/status.js
/**
 * Reading the state of a compose project from `docker inspect` (one JSON object per line, see
 * inspectProjectCommand). Pure, so readiness rules are tested by table.
 */
/** Docker's interval between health checks when a healthcheck sets none. */
const DEFAULT_HEALTH_INTERVAL_MS = 30_000;
/**
 * Docker runs the next health check an interval after the previous one ended (the first, an
 * interval after the container started); a `starting` container can turn healthy only then.
 */
function nextCheckAt(raw, health) {
    if (health?.Status !== 'starting')
        return undefined;
    const interval = (raw.healthcheck?.Interval ?? 0) / 1e6 || DEFAULT_HEALTH_INTERVAL_MS;
    const log = health.Log ?? [];
    const since = Date.parse(log[log.length - 1]?.End ?? raw.state.StartedAt ?? '');
    return Number.isFinite(since) ? since + interval : undefined;
}
/**
 * The container's health, or undefined when it has no healthcheck. Podman reports a container
 * without one as `Health: {Status: ""}` (Docker leaves `Health` out): an empty status is no
 * healthcheck, not an unhealthy one.
 */
function healthOf(raw) {
    const health = raw.state.Health ?? raw.state.Healthcheck ?? undefined;
    return health?.Status ? health : undefined;
}
function optional(key, value) {
    return value === undefined ? {} : { [key]: value };
}
function parseContainers(output) {
    return output
        .split('\n')
        .filter((line) => line.trim().startsWith('{'))
        .map((line) => {
        const raw = JSON.parse(line);
        const healthState = healthOf(raw);
        const health = healthState?.Status;
        const running = raw.state.Status === 'running';
        const status = raw.state.Status === 'exited'
            ? `exited ${raw.state.ExitCode}`
            : health
                ? `${raw.state.Status}, ${health}`
                : raw.state.Status;
        return {
            id: raw.id,
            service: raw.labels?.['com.docker.compose.service'] ?? '?',
            status,
            running,
            healthy: health === undefined ? undefined : health === 'healthy',
            exitCode: raw.state.ExitCode,
            ports: raw.ports ?? {},
            mounts: raw.mounts ?? [],
            ...optional('nextCheckAt', nextCheckAt(raw, healthState)),
            ...optional('healthLog', healthState?.Log?.map((r) => ({
                end: r.End ?? '',
                exitCode: r.ExitCode ?? -1,
                output: r.Output ?? '',
            }))),
            ...optional('healthIntervalMs', healthState ? (raw.healthcheck?.Interval ?? 0) / 1e6 || DEFAULT_HEALTH_INTERVAL_MS : undefined),
            ...optional('startedAtMs', Number.isFinite(Date.parse(raw.state.StartedAt ?? ''))
                ? Date.parse(raw.state.StartedAt ?? '')
                : undefined),
        };
    });
}
/**
 * How long after a check starts to send the next poll. Small: the poll itself takes ~0.1 s to reach
 * `docker inspect` on the host (an exec over SSH, `docker ps`), by when a quick check has reported;
 * a slower one is caught by the next poll, 50 ms on.
 */
const CHECK_MARGIN_MS = 20;
/**
 * How long to wait before looking again: until just after the earliest next health check of a
 * service still `starting` (when the host's clock is known), else half a second — within 50–500 ms
 * either way. A healthcheck every 2 s is then seen about 0.1 s after it turns healthy, with fewer
 * polls than a fixed short interval would take.
 */
function pollDelayMs(notReady, hostNowMs) {
    const next = notReady.map((c) => c.nextCheckAt).filter((t) => t !== undefined);
    if (hostNowMs === undefined || next.length !== notReady.length || next.length === 0)
        return 500;
    return Math.min(500, Math.max(50, Math.min(...next) - hostNowMs + CHECK_MARGIN_MS));
}
/**
 * Ready when every expected service has a running container that is healthy (where it has a
 * healthcheck). A container that exited is a failure at once, not something to wait out.
 */
function readiness(expected, containers) {
    const notReady = [];
    const failed = [];
    for (const service of expected) {
        const mine = containers.filter((c) => c.service === service);
        if (mine.length === 0) {
            notReady.push({
                id: '',
                service,
                status: 'no container',
                running: false,
                healthy: undefined,
                exitCode: 0,
                ports: {},
                mounts: [],
            });
            continue;
        }
        for (const c of mine) {
            if (c.running && c.healthy !== false)
                continue;
            // A one-shot service (a migration, a seed) that finished successfully is done, not down.
            if (c.status === 'exited 0')
                continue;
            notReady.push(c);
            // An unhealthy container may still recover before the deadline; an exited one will not.
            if (!c.running && c.status.startsWith('exited'))
                failed.push(c);
        }
    }
    return { ready: notReady.length === 0, notReady, failed };
}
//# sourceMappingURL=status.js.map
;// CONCATENATED MODULE: ../../packages/core/dist/extensions/builtin/compose-ssh/operate.js




/** Working with a running stack: commands in it, and its services' logs. */
/** Runs argv in a service's container (`service`), else in the sandbox directory on the host. */
function execInStack(session, handle, runtime, base, request) {
    const remote = request.service
        ? serviceExecCommand(runtime, `sbx-${handle.sandbox_id}`, request.service, request.argv)
        : (0,channel/* workspaceExecCommand */.yS)(handle.remote_dir ?? (0,remote_workspace_workspace/* sandboxDirOf */.YS)(base, handle.sandbox_id), request.argv);
    return (0,channel/* execOnHost */.nq)(session, remote, request);
}
/**
 * Each (selected) service's log: the last `lines`, one service at a time (one channel at a time);
 * with `follow`, every service's at once on one connection, each chunk as it comes, until aborted.
 */
async function stackLogs(session, handle, runtime, options) {
    const containers = parseContainers(await session.run(inspectProjectCommand(runtime, `sbx-${handle.sandbox_id}`), {
        what: 'inspecting the stack',
    })).filter((c) => !options.services?.length || options.services.includes(c.service));
    const read = (c) => session.exec(logsCommand(runtime, c.id, {
        lines: options.lines,
        ...(options.since ? { since: options.since } : {}),
        ...(options.follow ? { follow: true } : {}),
    }), {
        what: `reading the log of ${c.service}`,
        ...(options.follow
            ? {
                onStdout: (chunk) => options.write(c.service, chunk.toString('utf8')),
                maxOutputBytes: 4096,
                timeoutMs: 7 * 24 * 3600 * 1000,
                ...(options.signal ? { signal: options.signal } : {}),
            }
            : { maxOutputBytes: options.maxBytes }),
    });
    if (options.follow) {
        await Promise.all(containers.map(read));
        return;
    }
    for (const c of containers)
        options.write(c.service, (await read(c)).stdout);
}
//# sourceMappingURL=operate.js.map
// EXTERNAL MODULE: external "node:timers/promises"
var promises_ = __webpack_require__(8500);
// EXTERNAL MODULE: ../../packages/core/dist/ssh/target.js
var target = __webpack_require__(429);
;// CONCATENATED MODULE: ../../packages/core/dist/extensions/builtin/compose-ssh/compose-output.js
/**
 * Reading what a compose runtime prints, for the few things only its text says. Everything else
 * (which containers, their state, health and ports) is read from the engine by Compose's labels
 * (`docker`/`podman inspect`, see inspectProjectCommand), which Compose v1, v2 and podman-compose
 * all set alike. Pure; tested by table on recorded outputs (tests/fixtures/compose-output/).
 */
/**
 * The containers `up` says are unhealthy (a `depends_on: condition: service_healthy` that failed):
 * - v1: `ERROR: for backend  Container "d028c695525e" is unhealthy.` (a short id)
 * - v2: `dependency failed to start: container sbx-abc-db-1 is unhealthy` (the container's name;
 *   pkg/compose/convergence.go, isServiceHealthy and waitDependencies).
 */
function unhealthyContainers(text) {
    const refs = [];
    const seen = new Set();
    const add = (ref) => {
        const key = JSON.stringify(ref);
        if (!seen.has(key))
            refs.push(ref);
        seen.add(key);
    };
    for (const m of text.matchAll(/[Cc]ontainer "([0-9a-f]{12,64})" is unhealthy/g))
        add({ id: m[1] });
    for (const m of text.matchAll(/[Cc]ontainer ([A-Za-z0-9][A-Za-z0-9_.-]*) is unhealthy/g)) {
        add({ name: m[1] });
    }
    return refs;
}
/**
 * The service of a container Compose named: `<project>_<service>_<n>` (v1, podman-compose) or
 * `<project>-<service>-<n>` (v2); undefined for a name of another project or a `container_name`.
 */
function serviceOfContainerName(project, name) {
    const bare = name.replace(/^\//, '');
    for (const sep of ['_', '-']) {
        const prefix = `${project}${sep}`;
        const match = new RegExp(`^(.+)${sep === '-' ? '-' : '_'}\\d+$`).exec(bare.slice(prefix.length));
        if (bare.startsWith(prefix) && match?.[1])
            return match[1];
    }
    return undefined;
}
/**
 * `version`'s answer: v1 `docker-compose version 1.29.2, build 5becea4c`, v2 `Docker Compose version
 * v2.24.5` (or `2.24.5` with `--short`), podman-compose `podman-compose version: 1.0.3` (1.0.3 also
 * prints `podman-composer version  1.0.3` and `using podman version: 4.3.1`).
 */
function parseComposeVersion(text) {
    const podman = /podman-composer? version:?\s+v?(\d+\.\d+\.\d+\S*)/.exec(text);
    if (podman?.[1])
        return { kind: 'podman-compose', version: podman[1] };
    const v2 = /Docker Compose version v?(\d+\.\d+\.\d+\S*)/i.exec(text);
    if (v2?.[1])
        return { kind: 'compose-v2', version: v2[1] };
    const v1 = /docker-compose version (\d+\.\d+\.\d+)/.exec(text);
    if (v1?.[1])
        return { kind: v1[1].startsWith('1.') ? 'compose-v1' : 'compose-v2', version: v1[1] };
    return undefined;
}
/**
 * `compose ps --format json`: v2 before 2.21 prints one JSON array, 2.21 and later one object per
 * line; keys are `ID`, `Name`, `Service`, `State`, `Health`. Kept for tools that read `ps` (sand-boxer
 * itself reads the engine by label); v1 has no `--format json`.
 */
function parseComposePs(text) {
    const trimmed = text.trim();
    if (!trimmed)
        return [];
    const items = trimmed.startsWith('[')
        ? JSON.parse(trimmed)
        : trimmed
            .split('\n')
            .filter((line) => line.trim().startsWith('{'))
            .map((line) => JSON.parse(line));
    return items.map((item) => {
        const o = item;
        const str = (key) => (typeof o[key] === 'string' ? o[key] : '');
        return {
            id: str('ID'),
            name: str('Name'),
            service: str('Service'),
            state: str('State'),
            health: str('Health'),
        };
    });
}
//# sourceMappingURL=compose-output.js.map
;// CONCATENATED MODULE: ../../packages/core/dist/extensions/builtin/compose-ssh/diagnose.js



/**
 * Why services are not ready, as a person needs it: each service by name, its state, what its
 * health probe said the last few times (`State.Health.Log`) and the tail of its log. Used for the
 * readiness timeout, a service that stopped, and Compose's own `… is unhealthy` from `up`.
 */
const LOG_LINES = 20;
const HEALTH_RESULTS = 3;
/** The last health-check results of a container, newest last, as lines to show. */
function healthReport(c, results = HEALTH_RESULTS) {
    const log = c.healthLog ?? [];
    if (log.length === 0)
        return undefined;
    return log
        .slice(-results)
        .map((r) => `${r.end || '?'} exit ${r.exitCode}: ${r.output.trim().replace(/\s*\n\s*/g, ' | ') || '(no output)'}`)
        .join('\n');
}
/** One block per service: its health checks (if any), then its log tail. */
async function describeServices(session, runtime, services) {
    const parts = [];
    for (const s of services) {
        if (!s.id)
            continue;
        const health = healthReport(s);
        if (health)
            parts.push(`--- ${s.service}: last health checks ---\n${health}`);
        const result = await session.exec(logsTailCommand(runtime, s.id, LOG_LINES), {
            maxOutputBytes: 8 * 1024,
            what: 'reading logs',
        });
        parts.push(`--- ${s.service}: last ${LOG_LINES} log lines ---\n${result.stdout.trimEnd() || '(no output)'}`);
    }
    return parts.join('\n');
}
/** The containers Compose's error names, found among the project's (by id prefix or by name). */
function containersNamed(refs, project, containers) {
    const found = [];
    for (const ref of refs) {
        const match = 'id' in ref
            ? containers.find((c) => c.id.startsWith(ref.id))
            : containers.find((c) => c.service === serviceOfContainerName(project, ref.name));
        if (match && !found.includes(match))
            found.push(match);
    }
    return found;
}
/**
 * When `up` failed because a dependency is unhealthy: the message that names the service (not a
 * container id) with its health checks and log; undefined when the error is about something else.
 */
async function explainUnhealthy(session, runtime, project, upError) {
    const refs = unhealthyContainers(upError);
    if (refs.length === 0)
        return undefined;
    const containers = parseContainers(await session.run(inspectProjectCommand(runtime, project), { what: 'inspecting the stack' }));
    const named = containersNamed(refs, project, containers);
    if (named.length === 0)
        return undefined;
    const list = named.map((c) => `${c.service} (${c.status})`).join(', ');
    return `a dependency is unhealthy: ${list}\n${await describeServices(session, runtime, named)}`;
}
/** The containers of the project that are not ready (for a timed-out `up`). */
async function unreadyContainers(session, runtime, project) {
    const containers = parseContainers(await session.run(inspectProjectCommand(runtime, project), { what: 'inspecting the stack' }));
    return containers.filter((c) => !(c.running && c.healthy !== false && !c.status.endsWith('starting')));
}
/**
 * Podman runs health checks from systemd timers; on a host without systemd (a container, WSL, this
 * project's testbed) none ever run and every service with a healthcheck stays `starting`. These are
 * the containers whose next check is overdue by more than an interval: the engine is not running
 * them, so sand-boxer does (`podman healthcheck run`), as the timer would have.
 */
function overdueHealthchecks(containers, hostNowMs) {
    return containers
        .filter((c) => c.running && c.healthy !== true && c.healthIntervalMs !== undefined)
        .filter((c) => {
        const interval = c.healthIntervalMs;
        const last = Date.parse(c.healthLog?.at(-1)?.end ?? '');
        const since = Number.isFinite(last) ? last : c.startedAtMs;
        return since !== undefined && hostNowMs - since > interval + Math.min(interval, 1000);
    })
        .map((c) => c.id);
}
//# sourceMappingURL=diagnose.js.map
// EXTERNAL MODULE: external "node:crypto"
var external_node_crypto_ = __webpack_require__(7598);
// EXTERNAL MODULE: ../../packages/core/dist/ssh/tail-buffer.js
var tail_buffer = __webpack_require__(5869);
;// CONCATENATED MODULE: ../../packages/core/dist/extensions/builtin/compose-ssh/stack-poller.js





/**
 * The readiness polls of one wait as one command on the host. A poll used to be a command of its
 * own: a channel opened, an exec request answered, then the output — three round trips, the last
 * of which decides how late a create notices its stack is ready. Here a loop on the host answers
 * each line it reads with the host's clock and the project's containers, so a poll costs one round
 * trip, and one channel serves the whole wait.
 */
const CONTAINER_ID = /^[0-9a-f]{12,64}$/;
/** How long one poll may take before the wait gives up on the host (as a command's default limit). */
const POLL_TIMEOUT_MS = 120_000;
/**
 * The loop: for each line (`<ids>`: containers whose overdue health checks to run first, Podman),
 * it prints `now <ms>` and the project's containers (inspectProjectCommand, in a command
 * substitution: its `exit` ends that poll, not the loop), then `<boundary> <status>`, the poll's
 * stderr and `<boundary>.`. The stderr is captured and printed in line because the channel's
 * stderr is a stream of its own: its text can arrive after the stdout that ends the poll, and the
 * poll's error would lose it. (A `( … ) 1>&3` subshell would be simpler, but dash drops that
 * redirection inside `$( … )`; a `{ …; }` group keeps it.) It ends at EOF on its stdin.
 */
function pollLoopScript(runtime, project, boundary) {
    const healthcheck = `${(0,ssh_quote/* command */.G5)(runtime.engine, 'healthcheck', 'run')} "$id" >/dev/null 2>&1`;
    return [
        'exec 3>&1',
        'while read -r ids; do',
        // The ids were checked before they were sent; checked again, as anything that reaches a shell.
        `for id in $ids; do case "$id" in *[!0-9a-f]*) ;; *) ${healthcheck} ;; esac; done`,
        `err=$( { { printf 'now %s\\n' "$(date +%s%3N)"; ${inspectProjectCommand(runtime, project)}; } 1>&3; } 2>&1 )`,
        `printf '\\n%s %s\\n%s\\n%s.\\n' ${boundary} "$?" "$err" ${boundary}`,
        'done',
    ].join('\n');
}
/** Loops started ahead of their wait (see StackPoller.prepare), by session, for one project each. */
const prepared = new WeakMap();
/** One loop on the host, polled by the wait (see waitUntilReady). */
class StackPoller {
    #stream;
    #boundary;
    #destination;
    #stdout = '';
    /** The loop's own stderr (a poll's comes in line, see pollLoopScript). */
    #stderr = new tail_buffer/* TailBuffer */.v(64 * 1024);
    #waiting;
    #over = false;
    constructor(stream, boundary, destination) {
        this.#stream = stream;
        this.#boundary = boundary;
        this.#destination = destination;
        stream.output.on('data', (chunk) => {
            this.#stdout += chunk.toString('utf8');
            this.#waiting?.();
        });
        stream.errors.on('data', (chunk) => this.#stderr.push(chunk));
        void stream.done.then(() => {
            this.#over = true;
            this.#waiting?.();
        });
    }
    /**
     * Starts the loop while `compose up` runs (it waits on its stdin until the first poll), so the
     * wait that follows on the same session finds it open: its first poll is one round trip, which
     * for a stack without health checks is the whole wait. A session that is closed takes it along.
     */
    static prepare(session, runtime, project) {
        const poller = StackPoller.#start(session, runtime, project);
        poller.catch(() => { }); // the wait opens its own if this one failed
        prepared.set(session, { project, poller });
    }
    /** The loop prepared on `session` for `project`, else a new one. */
    static async open(session, runtime, project) {
        const ready = prepared.get(session);
        prepared.delete(session);
        if (ready?.project === project) {
            const poller = await ready.poller.catch(() => undefined);
            if (poller && !poller.#over)
                return poller;
        }
        else if (ready) {
            void ready.poller.then((other) => other.close(), () => { }); // another project's: not needed
        }
        return StackPoller.#start(session, runtime, project);
    }
    /** Starts a loop; a random boundary, so no container's labels can fake one. */
    static async #start(session, runtime, project) {
        const boundary = `sandboxer-poll-${(0,external_node_crypto_.randomBytes)(8).toString('hex')}`;
        const stream = await session.stream(pollLoopScript(runtime, project, boundary), 'inspecting the stack');
        return new StackPoller(stream, boundary, session.destination);
    }
    /**
     * One poll: runs `overdue` containers' health checks, then returns what the host printed (its
     * clock and the containers), as one `inspecting the stack` command did. A failing inspection is
     * a RemoteCommandError with stderr's tail, as before.
     */
    async poll(overdue = []) {
        for (const id of overdue)
            if (!CONTAINER_ID.test(id))
                throw new errors/* InputError */.dz(`not a container id: ${id}`);
        this.#stream.input.write(`${overdue.join(' ')}\n`);
        const found = await this.#answer(new RegExp(`\\n${this.#boundary} (\\d+)\\n([\\s\\S]*?)\\n${this.#boundary}\\.\\n`));
        const output = this.#stdout.slice(0, found.index);
        this.#stdout = this.#stdout.slice(found.index + found[0].length);
        const status = Number(found[1]);
        if (status !== 0) {
            const tail = (0,tail_buffer/* lastLines */.w)(found[2] || output, 20);
            throw new errors/* RemoteCommandError */.at(`inspecting the stack on ${this.#destination} failed (exit ${status})${tail ? `:\n${tail}` : ''}`, status);
        }
        return output;
    }
    /** Waits until the output holds `boundary` (this poll's end), the loop ends, or the poll times out. */
    #answer(boundary) {
        const ended = () => {
            // Each poll's stderr comes in line (see pollLoopScript); what is here is the loop's own.
            const tail = (0,tail_buffer/* lastLines */.w)(this.#stderr.text(), 20);
            return new errors/* SshError */.DZ(`the stack's readiness loop on ${this.#destination} ended${tail ? `:\n${tail}` : ''}`, 'session');
        };
        const late = () => new errors/* SshError */.DZ(`inspecting the stack on ${this.#destination} timed out after ${POLL_TIMEOUT_MS / 1000} s`, 'session');
        return new Promise((resolve, reject) => {
            const check = (error) => {
                const match = boundary.exec(this.#stdout);
                if (!match && !error && !this.#over)
                    return; // more output to come
                clearTimeout(timer);
                this.#waiting = undefined;
                if (match)
                    resolve(match);
                else
                    reject(error ?? ended());
            };
            const timer = setTimeout(() => check(late()), POLL_TIMEOUT_MS);
            this.#waiting = check;
            check();
        });
    }
    /** Ends the loop (EOF on its stdin), and the channel with it. */
    close() {
        this.#stream.input.end();
        this.#stream.stop();
    }
}
//# sourceMappingURL=stack-poller.js.map
;// CONCATENATED MODULE: ../../packages/core/dist/extensions/builtin/compose-ssh/readiness.js







/**
 * Polls the stack until every service it waits for runs (and is healthy, where it has a healthcheck),
 * then reports how to reach it. A service that stops fails at once; one that is not ready by the
 * deadline fails then; either way naming each unready service, with its last health checks and the
 * tail of its log. The deadline is the one `up` started (`ready_by`): wait_timeout bounds the whole
 * of up and readiness, not each.
 */
async function waitUntilReady(session, handle, host, options = {}) {
    const runtime = composeRuntime(handle.compose_command);
    const timeoutSeconds = handle.wait_timeout;
    const readyBy = Date.parse(handle.ready_by ?? '');
    const deadline = Number.isFinite(readyBy) ? readyBy : Date.now() + timeoutSeconds * 1000;
    let lastReport = '';
    let overdue = [];
    // One command on the host for the whole wait: each poll is a line to it and its answer.
    const poller = await StackPoller.open(session, runtime, handle.compose_project);
    try {
        for (;;) {
            // The host's clock first (`now <ms>`), so the next health check can be timed on it; before it,
            // the health checks Podman should have run and did not (see overdueHealthchecks).
            const output = await poller.poll(overdue);
            const hostNow = Number(/^now (\d{13})$/m.exec(output)?.[1]);
            const containers = parseContainers(output);
            const state = readiness(handle.services, containers);
            if (state.ready) {
                return {
                    host: host.name,
                    ssh: `ssh://${(0,target/* destination */.j_)(host.ssh)}`,
                    remote_dir: handle.remote_dir,
                    compose_project: handle.compose_project,
                    endpoints: endpointsOf(containers, host.ssh.address),
                };
            }
            if (state.failed.length > 0 || Date.now() > deadline) {
                const why = state.failed.length > 0 ? 'stopped' : `not ready after ${timeoutSeconds} s (wait_timeout)`;
                throw new errors/* ProvisionError */.uv(`services ${why}: ${list(state.notReady)}\n${await describeServices(session, runtime, state.notReady)}`, { services: state.notReady.map((s) => s.service) });
            }
            const report = list(state.notReady);
            if (report !== lastReport)
                options.progress?.(`waiting for ${report}`);
            lastReport = report;
            overdue =
                runtime.engine === 'podman' && Number.isFinite(hostNow)
                    ? overdueHealthchecks(state.notReady, hostNow)
                    : [];
            // Readiness is usually a healthcheck flipping: look again just after the next one has run.
            const delay = overdue.length > 0 ? 50 : pollDelayMs(state.notReady, Number.isFinite(hostNow) ? hostNow : undefined);
            await (0,promises_.setTimeout)(delay, undefined, { signal: options.signal });
        }
    }
    finally {
        poller.close();
    }
}
function list(services) {
    return services.map((s) => `${s.service} (${s.status})`).join(', ');
}
/** `service:port` → `address:port` of every published TCP port (IPv4 bindings). */
function endpointsOf(containers, hostAddress) {
    const endpoints = {};
    for (const c of containers) {
        for (const [port, bindings] of Object.entries(c.ports)) {
            const binding = bindings?.find((b) => !b.HostIp?.includes(':'));
            if (!binding)
                continue;
            const ip = !binding.HostIp || binding.HostIp === '0.0.0.0' ? hostAddress : binding.HostIp;
            endpoints[`${c.service}:${port.replace('/tcp', '')}`] = `${ip}:${binding.HostPort}`;
        }
    }
    return endpoints;
}
//# sourceMappingURL=readiness.js.map
;// CONCATENATED MODULE: ../../packages/core/dist/extensions/builtin/compose-ssh/runtime-detect.js



/**
 * `compose_command: auto`: which compose runtime a host has, found by asking it. Hosted runners and
 * most hosts have Compose v2 (`docker compose`), Debian 12 has only v1 (`docker-compose`), a Podman
 * host has `podman-compose`; a fixed default fails on two of the three with an error that does not
 * say why (`unknown shorthand flag: 'p' in -p`).
 */
/** The setting that asks for detection (the extension's default). */
const AUTO = 'auto';
/** What `auto` tries, in this order: the first that answers `version` is used. */
const COMPOSE_CANDIDATES = ['docker compose', 'docker-compose', 'podman-compose'];
/**
 * One round trip: `<candidate> version` for each candidate, printing `probe <ok|fail> <n> <first line>`.
 * Compose v1 exits 0 on unknown options but not on an unknown command, and `docker compose` without
 * the v2 plugin exits 1 (`unknown command`), so the exit status of `version` is enough here.
 */
function probeRuntimesCommand(candidates = COMPOSE_CANDIDATES) {
    return candidates
        .map((candidate, n) => {
        const words = candidate.split(' ');
        const run = (0,ssh_quote/* command */.G5)(...words, 'version');
        const first = (0,ssh_quote/* command */.G5)(words[0]);
        // stdin closed and a time limit: a runtime that hangs must not hang the create. What it said:
        // its first line that names compose (podman-compose prints podman's version first), else its first.
        const said = `{ printf '%s\\n' "$out" | grep -i compose; printf '%s\\n' "$out"; } | grep -v '^\\[' | grep . | head -n 1 | cut -c1-200`;
        return `if ! command -v ${first} >/dev/null 2>&1; then s=fail; out=${(0,ssh_quote/* quote */.hD)(`${words[0]}: not installed`)}; elif out=$(timeout 30 ${run} </dev/null 2>&1); then s=ok; else s=fail; fi; printf 'probe %s ${n} %s\\n' "$s" "$(${said})"`;
    })
        .join('; ');
}
/** The probe's output as one result per candidate (a candidate with no line did not answer). */
function parseProbes(output, candidates = COMPOSE_CANDIDATES) {
    const lines = new Map();
    for (const line of output.split('\n')) {
        const match = /^probe (ok|fail) (\d+) ?(.*)$/.exec(line);
        if (match)
            lines.set(Number(match[2]), { ok: match[1] === 'ok', said: (match[3] ?? '').trim() });
    }
    return candidates.map((candidate, n) => ({
        candidate,
        ok: lines.get(n)?.ok ?? false,
        said: lines.get(n)?.said || 'no answer',
    }));
}
/** The first candidate that works, or an error that lists what was tried and how to choose one. */
function chooseRuntime(probes, where) {
    const working = probes.filter((p) => p.ok);
    const first = working[0];
    if (!first) {
        const tried = probes.map((p) => `  ${p.candidate} version: ${p.said}`).join('\n');
        throw new errors/* ProvisionError */.uv(`no compose runtime found on ${where}; tried:\n${tried}\n` +
            'Install one of them there, or name the command: the compose-command input of the action, ' +
            '--compose-command or SANDBOXER_COMPOSE_CMD for the CLI and server, or compose_command in the extension config.', { host: where, tried: probes.map((p) => ({ command: p.candidate, said: p.said })) });
    }
    const engines = [...new Set(working.map((p) => composeRuntime(p.candidate).engine))];
    return { runtime: composeRuntime(first.candidate), engines, probes };
}
/** One probe per connection: the answer is kept for as long as the session lives. */
const probed = new WeakMap();
/** Asks the host which runtimes it has (once per session). */
function detectRuntimes(session) {
    let answer = probed.get(session);
    if (!answer) {
        answer = session
            .run(probeRuntimesCommand(), { what: 'looking for a compose runtime' })
            .then((output) => chooseRuntime(parseProbes(output), session.destination));
        // A failed probe (a dropped connection) is not remembered: the next call asks again.
        answer.catch(() => probed.delete(session));
        probed.set(session, answer);
    }
    return answer;
}
/** The runtime a setting names, or the one the host has when it says `auto`. */
async function resolveRuntime(session, setting) {
    if (isAuto(setting))
        return (await detectRuntimes(session)).runtime;
    return composeRuntime(setting);
}
/**
 * Every engine to sweep for a sandbox: the one its record names, else (a record that never got as
 * far as naming one, or a sandbox gc found on the host) every engine the host has.
 */
async function enginesFor(session, recorded, setting) {
    if (recorded)
        return [composeRuntime(recorded).engine];
    if (!isAuto(setting))
        return [composeRuntime(setting).engine];
    try {
        return (await detectRuntimes(session)).engines;
    }
    catch (error) {
        // A host with no compose at all has no project to sweep: its directory still goes.
        if (error instanceof errors/* ProvisionError */.uv)
            return [];
        throw error;
    }
}
function isAuto(setting) {
    return setting.trim() === AUTO;
}
//# sourceMappingURL=runtime-detect.js.map
// EXTERNAL MODULE: external "node:fs"
var external_node_fs_ = __webpack_require__(3024);
// EXTERNAL MODULE: external "node:fs/promises"
var external_node_fs_promises_ = __webpack_require__(1455);
// EXTERNAL MODULE: ../../packages/core/dist/util/snapshot-ids.js
var snapshot_ids = __webpack_require__(7449);
// EXTERNAL MODULE: ../../packages/core/dist/util/snapshot-index.js
var snapshot_index = __webpack_require__(8639);
;// CONCATENATED MODULE: ../../packages/core/dist/extensions/builtin/compose-ssh/hash-command.js
/**
 * A shell function, `sha256hex`, that prints the sha256 of its stdin in hex. It prefers OpenSSL:
 * coreutils' `sha256sum` does not use the CPU's SHA instructions, and on the testbed hashes 1 GiB in
 * 3.1 s against OpenSSL's 0.85 s; a capture and a restore hash their data while it streams, so the
 * hash must keep up with the engine's `cp` (and not lengthen the services' pause). Same digest.
 */
const SHA256_FUNCTION = [
    'if command -v openssl >/dev/null 2>&1; then',
    "  sha256hex() { openssl dgst -sha256 -r | cut -d' ' -f1; }",
    'else',
    "  sha256hex() { sha256sum | cut -d' ' -f1; }",
    'fi',
].join('\n');
//# sourceMappingURL=hash-command.js.map
;// CONCATENATED MODULE: ../../packages/core/dist/extensions/builtin/compose-ssh/snapshot-commands.js








/**
 * Pure builders for the shell scripts ext.compose-ssh runs to capture and restore a snapshot.
 * Every value is quoted; container ids and volume keys are checked against what the engine itself
 * produces. Tested by table, including hostile values.
 *
 * The artifact is one file on the host holding `manifest.json`, `workspace.tar` (the sandbox
 * directory without its marker and generated labels file) and `volumes/<key>.tar` (what
 * `docker cp <container>:<mount> -` streams for each named volume): format 2, the members back to
 * back with an index at the end (util/snapshot-index.ts). Older snapshots are format 1, one tar of
 * the same members; restore-commands.ts reads both. The file keeps its `.tar` name either way, so
 * paths recorded by older versions stay valid.
 */
/** Where a host keeps its snapshot artifacts: beside the sandbox directories, never matching `sbx-*`. */
function snapshotDirOf(base) {
    return (0,ssh_quote/* remotePathInside */._Y)(base, '.sandboxer-snapshots');
}
function artifactPathOf(base, snapshotId) {
    if (!(0,snapshot_ids/* isSnapshotId */.Yr)(snapshotId)) {
        throw new errors/* InputError */.dz(`refusing unexpected snapshot id ${JSON.stringify(snapshotId)}`);
    }
    return (0,ssh_quote/* remotePathInside */._Y)(snapshotDirOf(base), `${snapshotId}.tar`);
}
const snapshot_commands_CONTAINER_ID = /^[0-9a-f]{12,64}$/;
const VOLUME_KEY = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
function checkContainerId(id) {
    if (!snapshot_commands_CONTAINER_ID.test(id))
        throw new errors/* InputError */.dz(`not a container id: ${JSON.stringify(id)}`);
    return id;
}
function checkVolume(volume) {
    if (!VOLUME_KEY.test(volume.key)) {
        throw new errors/* InputError */.dz(`not a compose volume name: ${JSON.stringify(volume.key)}`);
    }
    if (!volume.path.startsWith('/') || external_node_path_.posix.normalize(volume.path) !== volume.path || volume.path === '/') {
        throw new errors/* InputError */.dz(`volume ${volume.key}: mount path ${JSON.stringify(volume.path)} is not absolute`);
    }
}
/**
 * Writes a format 2 artifact (util/snapshot-index.ts): each member's stream (the manifest from
 * stdin, the workspace's `tar`, each volume's `docker cp … -`) is appended straight to the partial
 * artifact, with no staging copy and no repack. The services are held still only while the
 * workspace and the volumes stream to disk; each member is hashed (`sha256hex`, hash-command.ts)
 * after they are resumed, from the page cache the write just filled. Hashing in the same pass (a
 * `tee` into the hash) was measured and refused: on the testbed's 2 CPUs the hash and the extra copy
 * compete with the engine's `cp`, and the pause grew from 2.5 s to 4.9 s per GiB (docs/performance.md).
 * The `trap` resumes the services and removes the partial files however the script ends (an error,
 * a dropped connection's SIGHUP). Prints `paused_ms=<n>`, then the index's sha256, then the size.
 */
function captureScript(s) {
    const ids = s.containers.map(checkContainerId);
    for (const v of s.volumes) {
        checkVolume(v);
        checkContainerId(v.containerId);
    }
    const stage = `${s.artifact}.stage`;
    const partial = `${s.artifact}.partial`;
    const index = `${stage}/index`;
    const members = `${stage}/members`;
    const e = s.runtime.engine;
    const hold = ids.length === 0
        ? 'true'
        : s.consistency === 'pause'
            ? `${(0,ssh_quote/* command */.G5)(e, 'pause', ...ids)} >/dev/null`
            : `${(0,ssh_quote/* command */.G5)(e, 'stop', '-t', String(s.stopTimeout), ...ids)} >/dev/null`;
    const resume = ids.length === 0
        ? 'true'
        : s.consistency === 'pause'
            ? `${(0,ssh_quote/* command */.G5)(e, 'unpause', ...ids)} >/dev/null 2>&1 || true`
            : `${(0,ssh_quote/* command */.G5)(e, 'start', ...ids)} >/dev/null 2>&1 || true`;
    const captures = [];
    if (s.workspaceDir) {
        captures.push(`member workspace.tar ${(0,ssh_quote/* command */.G5)('tar', '-C', s.workspaceDir, `--exclude=./${remote_workspace_workspace/* MARKER_FILE */.cu}`, `--exclude=./${LABELS_FILE}`, '-cf', '-', '.')}`);
    }
    for (const v of s.volumes) {
        captures.push(`member ${(0,ssh_quote/* quote */.hD)(`volumes/${v.key}.tar`)} ${(0,ssh_quote/* command */.G5)(e, 'cp', `${v.containerId}:${v.path}`, '-')}`);
    }
    const now = 'date +%s%N | cut -c1-13';
    return [
        'set -e',
        'umask 077',
        `cleanup() { rm -rf -- ${(0,ssh_quote/* quote */.hD)(stage)} ${(0,ssh_quote/* quote */.hD)(partial)}; }`,
        `resume() { ${resume}; }`,
        'trap cleanup EXIT',
        'trap "exit 129" HUP INT TERM',
        SHA256_FUNCTION,
        // member NAME PRODUCER...: appends PRODUCER's stdout to the artifact (no pipe, so `set -e` sees
        // its failure) and notes where it lies, from the file's size before and after.
        'member() {',
        `  off=$(${(0,ssh_quote/* command */.G5)('stat', '-c', '%s', '--', partial)})`,
        `  name=$1; shift; "$@" </dev/null >> ${(0,ssh_quote/* quote */.hD)(partial)}`,
        `  end=$(${(0,ssh_quote/* command */.G5)('stat', '-c', '%s', '--', partial)})`,
        `  printf '%s %s %s\\n' "$name" "$off" "$((end - off))" >> ${(0,ssh_quote/* quote */.hD)(members)}`,
        '}',
        (0,ssh_quote/* command */.G5)('mkdir', '-p', '--', external_node_path_.posix.dirname(s.artifact)),
        (0,ssh_quote/* command */.G5)('mkdir', '--', stage),
        `cat > ${(0,ssh_quote/* quote */.hD)(`${stage}/manifest.json`)}`,
        `: > ${(0,ssh_quote/* quote */.hD)(partial)}`,
        `: > ${(0,ssh_quote/* quote */.hD)(members)}`,
        `printf '%s\\n' ${(0,ssh_quote/* quote */.hD)(snapshot_index/* INDEX_HEADER */.Xp)} > ${(0,ssh_quote/* quote */.hD)(index)}`,
        `member manifest.json ${(0,ssh_quote/* command */.G5)('cat', '--', `${stage}/manifest.json`)}`,
        `t0=$(${now})`,
        'trap "resume; cleanup" EXIT',
        hold,
        ...captures,
        'trap cleanup EXIT',
        'resume',
        `echo "paused_ms=$(( $(${now}) - t0 ))"`,
        // The index: each member's line with its sha256 (names and numbers are this script's own).
        `while read -r name off size; do`,
        `  sum=$(${(0,ssh_quote/* command */.G5)('tail', '-c')} "+$((off + 1))" -- ${(0,ssh_quote/* quote */.hD)(partial)} | head -c "$size" | sha256hex)`,
        `  printf '%s %s %s %s\\n' "$name" "$off" "$size" "$sum" >> ${(0,ssh_quote/* quote */.hD)(index)}`,
        `done < ${(0,ssh_quote/* quote */.hD)(members)}`,
        `sum=$(sha256hex < ${(0,ssh_quote/* quote */.hD)(index)})`,
        `cat -- ${(0,ssh_quote/* quote */.hD)(index)} >> ${(0,ssh_quote/* quote */.hD)(partial)}`,
        `printf '${snapshot_index/* FOOTER_PREFIX */.pR}%015d\\n' "$(${(0,ssh_quote/* command */.G5)('stat', '-c', '%s', '--', index)})" >> ${(0,ssh_quote/* quote */.hD)(partial)}`,
        (0,ssh_quote/* command */.G5)('mv', '--', partial, s.artifact),
        'trap - EXIT',
        (0,ssh_quote/* command */.G5)('rm', '-rf', '--', stage),
        'printf \'%s\\n\' "$sum"',
        (0,ssh_quote/* command */.G5)('stat', '-c', '%s', '--', s.artifact),
    ].join('\n');
}
/** Parses captureScript's output. */
function parseCaptureOutput(output) {
    const lines = output.trim().split('\n');
    const paused = /^paused_ms=(\d+)$/.exec(lines.find((l) => l.startsWith('paused_ms=')) ?? '');
    const sum = /^([0-9a-f]{64})$/.exec(lines.at(-2) ?? '');
    const size = /^(\d+)$/.exec(lines.at(-1) ?? '');
    if (!paused || !sum || !size) {
        throw new Error(`unexpected output from the snapshot script: ${JSON.stringify(output.slice(-300))}`);
    }
    return { pausedMs: Number(paused[1]), sha256: sum[1], size: Number(size[1]) };
}
/** Receives an artifact on stdin into its place (via a partial file, so a cut upload leaves nothing usable). */
function receiveArtifactCommand(artifact) {
    const partial = `${artifact}.partial`;
    return (0,ssh_quote/* and */.Uo)('umask 077', (0,ssh_quote/* command */.G5)('mkdir', '-p', '--', external_node_path_.posix.dirname(artifact)), `cat > ${(0,ssh_quote/* quote */.hD)(partial)}`, (0,ssh_quote/* command */.G5)('mv', '--', partial, artifact));
}
/** Deletes an artifact; succeeds when it is already gone. */
function deleteArtifactCommand(artifact) {
    return (0,ssh_quote/* command */.G5)('rm', '-f', '--', artifact, `${artifact}.partial`);
}
//# sourceMappingURL=snapshot-commands.js.map
;// CONCATENATED MODULE: ../../packages/core/dist/extensions/builtin/compose-ssh/snapshot.js







async function captureSnapshot(session, request) {
    const containers = parseContainers(await session.run(inspectProjectCommand(request.runtime, request.project), {
        what: 'inspecting the stack',
    }));
    const volumes = request.capture.includes('volumes') ? namedVolumes(containers, request.project) : [];
    const contents = {
        workspace: request.capture.includes('workspace'),
        volumes: volumes.map(({ key, service, path }) => ({ key, service, path })),
    };
    const artifact = artifactPathOf(request.base, request.snapshotId);
    const script = captureScript({
        runtime: request.runtime,
        containers: containers.filter((c) => c.running).map((c) => c.id),
        consistency: request.consistency,
        stopTimeout: request.stopTimeout,
        workspaceDir: contents.workspace ? request.dir : undefined,
        volumes,
        artifact,
    });
    const output = await session.run(script, {
        stdin: `${JSON.stringify({ format: 2, ...request.manifest, contents }, null, 2)}\n`,
        what: 'capturing the snapshot',
        timeoutMs: 30 * 60_000,
    });
    const parsed = parseCaptureOutput(output);
    return { artifact, contents, sha256: parsed.sha256, size: parsed.size, pausedMs: parsed.pausedMs };
}
/** One mount per named volume of the project (the first container that mounts it), with its compose key. */
function namedVolumes(containers, project) {
    const found = new Map();
    for (const c of containers) {
        for (const m of c.mounts) {
            // Only the project's own volumes: external ones belong to someone else and are not captured.
            if (m.Type !== 'volume' || !m.Name?.startsWith(`${project}_`))
                continue;
            const key = m.Name.slice(project.length + 1);
            if (!found.has(key))
                found.set(key, { key, service: c.service, containerId: c.id, path: m.Destination });
        }
    }
    return [...found.values()];
}
/** Is this host-kept copy on the host we are connected to? Same address, port and user. */
function isOnHost(location, host) {
    if (location.kind !== 'host')
        return false;
    const there = location.target.ssh;
    return (location.host === host.name ||
        (there?.address === host.ssh.address && there.port === host.ssh.port && there.user === host.ssh.user));
}
/** Streams a host-kept artifact into a local file (via a partial file, renamed when complete). */
async function downloadArtifact(session, path, localPath) {
    const partial = `${localPath}.partial`;
    const out = (0,external_node_fs_.createWriteStream)(partial, { mode: 0o600 });
    let failure;
    out.on('error', (error) => {
        failure = error;
    });
    try {
        await session.run(`${(0,ssh_quote/* command */.G5)('cat', '--', path)}`, {
            onStdout: (chunk) => out.write(chunk),
            maxOutputBytes: 4096,
            what: 'downloading the snapshot',
            timeoutMs: 60 * 60_000,
        });
        await new Promise((resolve, reject) => out.end((error) => (error ? reject(error) : resolve())));
        if (failure)
            throw failure;
        await (0,external_node_fs_promises_.rename)(partial, localPath);
    }
    catch (error) {
        out.destroy();
        await (0,external_node_fs_promises_.rm)(partial, { force: true });
        throw new errors/* SnapshotError */.JC(`downloading ${path} from ${session.destination} failed: ${(0,errors/* messageOf */.bD)(error)}`);
    }
}
//# sourceMappingURL=snapshot.js.map
;// CONCATENATED MODULE: ../../packages/core/dist/extensions/builtin/compose-ssh/restore-commands.js






/**
 * Prints `missing`; or `format 1` and the sha256 of the whole file (one pass, as format 1 must be
 * checked before use); or `format 2` and the index's text (a few hundred bytes read from the end).
 * The index length comes from the footer through `sed`, digits only, never evaluated as shell text.
 */
function probeArtifactCommand(artifact) {
    const q = (0,ssh_quote/* quote */.hD)(artifact);
    const length = `$(tail -c ${snapshot_index/* FOOTER_BYTES */.yn} -- ${q} | sed -n 's/^${snapshot_index/* FOOTER_PREFIX */.pR}0*\\([1-9][0-9]*\\)$/\\1/p')`;
    return [
        SHA256_FUNCTION,
        `if [ ! -f ${q} ]; then echo missing`,
        `elif n=${length}; [ -z "$n" ]; then echo 'format 1'; sha256hex < ${q}`,
        `else echo 'format 2'; tail -c "$((n + ${snapshot_index/* FOOTER_BYTES */.yn}))" -- ${q} | head -c "$n"`,
        'fi',
    ].join('\n');
}
/** Prints the sha256 of each member's bytes, one line each, in the order given (a full check). */
function memberChecksumsCommand(artifact, members) {
    return [SHA256_FUNCTION, ...members.map((m) => `${sliceOf(artifact, m)} | sha256hex`)].join('\n');
}
/** extractVerifiedCommand's exit status when the member's bytes are not the ones the index names (EX_DATAERR). */
const CORRUPT_MEMBER_EXIT = 65;
/**
 * Feeds one member to `consumer` while `sha256hex` reads the same bytes through a FIFO, and compares
 * the sum with the index's: the check costs no second read. A mismatch exits CORRUPT_MEMBER_EXIT
 * with both sums on stderr, and the caller rolls back what the member went into; on success it
 * prints `sha256=<hex>`. A consumer that fails (its own status is kept) also stops the checksum
 * short, so only then is the member read again, to tell a corrupt member from a failed consumer.
 */
function extractVerifiedCommand(artifact, member, consumer) {
    const q = (0,ssh_quote/* quote */.hD)(artifact);
    const slice = sliceOf(artifact, member);
    return [
        'set -e',
        SHA256_FUNCTION,
        `[ -f ${q} ] || { echo ${(0,ssh_quote/* quote */.hD)(`${artifact}: no such artifact`)} >&2; exit 1; }`,
        'v=$(mktemp -d)',
        `trap 'rm -rf -- "$v"' EXIT`,
        'mkfifo "$v/fifo"',
        'sha256hex < "$v/fifo" > "$v/sum" &',
        'rc=0',
        `${slice} | tee -- "$v/fifo" | { ${consumer}; } || rc=$?`,
        'wait $! || true',
        'sum=$(cat "$v/sum")',
        `if [ "$rc" != 0 ]; then sum=$(${slice} | sha256hex); fi`,
        `if [ "$sum" != ${(0,ssh_quote/* quote */.hD)(member.sha256)} ]; then`,
        `  printf 'member %s: sha256 %s, expected %s\\n' ${(0,ssh_quote/* quote */.hD)(member.name)} "$sum" ${(0,ssh_quote/* quote */.hD)(member.sha256)} >&2`,
        `  exit ${CORRUPT_MEMBER_EXIT}`,
        'fi',
        `[ "$rc" != ${CORRUPT_MEMBER_EXIT} ] || rc=1`,
        `printf 'sha256=%s\\n' "$sum"`,
        'exit "$rc"',
    ].join('\n');
}
/** Parses extractVerifiedCommand's last line. */
function parseExtractOutput(output) {
    return /(?:^|\n)sha256=([0-9a-f]{64})\n?$/.exec(output)?.[1];
}
/** The bytes of one member of a format 2 artifact, on stdout (`tail` seeks on a regular file). */
function sliceOf(artifact, member) {
    return `${(0,ssh_quote/* command */.G5)('tail', '-c', `+${member.offset + 1}`, '--', artifact)} | ${(0,ssh_quote/* command */.G5)('head', '-c', String(member.size))}`;
}
/** Format 1's member, on stdout: listed first, as sh has no pipefail and a missing member must fail. */
function tarMemberOf(artifact, member, consumer) {
    return (0,ssh_quote/* and */.Uo)(`${(0,ssh_quote/* command */.G5)('tar', '-tf', artifact, member)} >/dev/null`, `${(0,ssh_quote/* command */.G5)('tar', '-xOf', artifact, member)} | ${consumer}`);
}
function clearCommand(dir) {
    return (0,ssh_quote/* command */.G5)('find', dir, '-mindepth', '1', '-maxdepth', '1', '!', '-name', remote_workspace_workspace/* MARKER_FILE */.cu, '-exec', 'rm', '-rf', '--', '{}', '+');
}
/**
 * Empties a sandbox directory except its marker (for an in-place restore), then unpacks the
 * snapshot's workspace into it. Format 2 prints the member's checksum (extractVerifiedCommand).
 */
function restoreWorkspaceCommand(artifact, layout, dir, clearFirst) {
    const unpack = (0,ssh_quote/* command */.G5)('tar', '-C', dir, '-xf', '-');
    if (layout.format === 2) {
        const extract = extractVerifiedCommand(artifact, layout.member, unpack);
        return clearFirst ? `${clearCommand(dir)}\n${extract}` : extract;
    }
    // The member is checked before the directory is emptied: a bad artifact must change nothing.
    const steps = [`${(0,ssh_quote/* command */.G5)('tar', '-tf', artifact, 'workspace.tar')} >/dev/null`];
    if (clearFirst)
        steps.push(clearCommand(dir));
    steps.push(tarMemberOf(artifact, 'workspace.tar', unpack));
    return (0,ssh_quote/* and */.Uo)(...steps);
}
/**
 * Streams one captured volume into a created (not yet started) container of the restored stack.
 * Format 2 prints the member's checksum (extractVerifiedCommand).
 */
function restoreVolumeCommand(runtime, artifact, layout, volume) {
    checkVolume(volume);
    checkContainerId(volume.containerId);
    // `docker cp C:/data -` names its entries `data/…`, so they go back into the mount's parent;
    // Podman 4.3's names them `/…` (the directory itself), so they go into the mount. An artifact is
    // therefore read back by the engine that wrote it (docs/snapshots.md).
    const parent = runtime.engine === 'podman' ? volume.path : external_node_path_.posix.dirname(volume.path);
    const consumer = (0,ssh_quote/* command */.G5)(runtime.engine, 'cp', '-', `${volume.containerId}:${parent}`);
    return layout.format === 2
        ? extractVerifiedCommand(artifact, layout.member, consumer)
        : tarMemberOf(artifact, `volumes/${volume.key}.tar`, consumer);
}
//# sourceMappingURL=restore-commands.js.map
;// CONCATENATED MODULE: ../../packages/core/dist/extensions/builtin/compose-ssh/snapshot-restore.js








/** `sha256 <16 hex>…, expected <16 hex>…`: what a corrupt artifact's error says of a checksum. */
function mismatch(actual, expected) {
    return `sha256 ${actual.slice(0, 16)}…, expected ${expected?.slice(0, 16)}…`;
}
/** The error for an artifact whose bytes are not the recorded ones (`why`); `host` when it is known. */
function corruptArtifact(snapshotId, path, why, host) {
    return new errors/* SnapshotCorruptError */.MD(`snapshot ${snapshotId}: artifact ${path}${host ? ` on ${host}` : ''} is corrupt (${why}); nothing was restored`, { snapshot: snapshotId, path, ...(host ? { host } : {}) });
}
/**
 * Makes sure the artifact is on this host with the right checksum, uploading the verified local copy
 * if the host has none, and returns its path and layout there. A copy whose checksum differs is
 * refused before anything is changed. Format 1 is hashed whole here; for format 2 only its index is
 * checked here (a few hundred bytes) and each member as it is extracted, unless `checkData` asks for
 * every member now: an in-place restore empties the live sandbox first, so it must not find out
 * half-way, and a fresh upload is checked before it is recorded as a copy.
 */
async function ensureArtifact(session, host, base, source, progress, checkData = true) {
    const { snapshot } = source;
    const here = snapshot.locations.find((l) => isOnHost(l, host));
    let path = here?.kind === 'host' ? here.path : artifactPathOf(base, snapshot.id);
    if (!here) {
        if (!source.localPath) {
            throw new errors/* SnapshotError */.JC(`snapshot ${snapshot.id} has no copy on ${host.name} nor on this machine (pull it to this machine first)`, { snapshot: snapshot.id });
        }
        progress?.(`uploading snapshot ${snapshot.id} (${snapshot.size_bytes ?? '?'} bytes) to ${host.name}`);
        await session.run(receiveArtifactCommand(path), {
            stdin: (0,external_node_fs_.createReadStream)(source.localPath),
            what: 'uploading the snapshot',
            timeoutMs: 60 * 60_000,
        });
        path = artifactPathOf(base, snapshot.id);
    }
    progress?.(`verifying snapshot ${snapshot.id} on ${host.name}`);
    const probe = await session.run(probeArtifactCommand(path), {
        what: 'checking the snapshot',
        timeoutMs: 30 * 60_000,
    });
    const corrupt = (why) => corruptArtifact(snapshot.id, path, why, host.name);
    let layout;
    if (probe.trim() === 'missing') {
        throw new errors/* SnapshotError */.JC(`snapshot ${snapshot.id}: its artifact ${path} is gone from ${host.name} (deleted by hand?); restore from another copy or delete the snapshot`, { snapshot: snapshot.id, path });
    }
    else if (probe.startsWith('format 2\n')) {
        const index = probe.slice('format 2\n'.length);
        const digest = (0,snapshot_index/* indexDigest */.pt)(index);
        if (digest !== snapshot.sha256)
            throw corrupt(mismatch(digest, snapshot.sha256));
        const members = (0,snapshot_index/* parseSnapshotIndex */.io)(index);
        if (typeof members === 'string')
            throw corrupt(members);
        if (checkData || !here) {
            const sums = (await session.run(memberChecksumsCommand(path, members), {
                what: 'checksumming the snapshot',
                timeoutMs: 30 * 60_000,
            })).split('\n');
            members.forEach((m, i) => {
                if (sums[i] !== m.sha256)
                    throw corrupt(`member ${m.name}: ${mismatch(sums[i] ?? '', m.sha256)}`);
            });
        }
        layout = { format: 2, members };
    }
    else {
        const sum = probe.split('\n')[1]?.trim() ?? '';
        if (sum !== snapshot.sha256)
            throw corrupt(mismatch(sum, snapshot.sha256));
        layout = { format: 1 };
    }
    if (!here) {
        await source.addLocation?.({ kind: 'host', host: host.name, target: host, path });
    }
    return { snapshotId: snapshot.id, path, layout };
}
/** The layout restoreWorkspaceCommand/restoreVolumeCommand take for one member. */
function memberLayout(artifact, name) {
    if (artifact.layout.format === 1)
        return artifact.layout;
    const member = artifact.layout.members.find((m) => m.name === name);
    if (!member) {
        throw new errors/* SnapshotCorruptError */.MD(`snapshot ${artifact.snapshotId}: artifact ${artifact.path} has no member ${name}; nothing was restored`, { snapshot: artifact.snapshotId, path: artifact.path });
    }
    return { format: 2, member };
}
/**
 * Runs one member's extraction. For format 2 the script checks the member's checksum as it streams
 * it; a mismatch is a corrupt artifact, and the caller's rollback removes what was made from it.
 */
async function extractMember(session, artifact, layout, script, what) {
    const corrupt = (actual, member) => corruptArtifact(artifact.snapshotId, artifact.path, `member ${member.name}: ${mismatch(actual ?? '?', member.sha256)}`);
    let output;
    try {
        output = await session.run(script, { what, timeoutMs: 30 * 60_000 });
    }
    catch (error) {
        if (layout.format === 2 &&
            error instanceof errors/* RemoteCommandError */.at &&
            error.exitCode === CORRUPT_MEMBER_EXIT) {
            throw corrupt(/sha256 ([0-9a-f]{64}), expected/.exec(error.message)?.[1], layout.member);
        }
        throw error;
    }
    if (layout.format === 2 && parseExtractOutput(output) !== layout.member.sha256) {
        throw corrupt(parseExtractOutput(output), layout.member);
    }
}
/** Unpacks the workspace into the sandbox directory (emptied first, except its marker, for in place). */
async function restoreWorkspace(session, artifact, dir, inPlace) {
    const layout = memberLayout(artifact, 'workspace.tar');
    const script = restoreWorkspaceCommand(artifact.path, layout, dir, inPlace);
    await extractMember(session, artifact, layout, script, 'restoring the workspace');
}
/** Copies each captured volume into the created (not yet started) containers of the restored stack. */
async function restoreVolumes(session, runtime, project, artifact, volumes, progress) {
    if (volumes.length === 0)
        return;
    const containers = parseContainers(await session.run(inspectProjectCommand(runtime, project), { what: 'inspecting the restored stack' }));
    for (const volume of volumes) {
        const container = containers.find((c) => c.service === volume.service && c.mounts.some((m) => m.Destination === volume.path));
        if (!container) {
            throw new errors/* SnapshotError */.JC(`volume ${volume.key}: no container of service ${volume.service} mounts ${volume.path} in the restored stack (was the compose file changed?)`);
        }
        progress?.(`restoring volume ${volume.key} (${volume.service}:${volume.path})`);
        const layout = memberLayout(artifact, `volumes/${volume.key}.tar`);
        const script = restoreVolumeCommand(runtime, artifact.path, layout, {
            ...volume,
            containerId: container.id,
        });
        await extractMember(session, artifact, layout, script, `restoring volume ${volume.key}`);
    }
}
//# sourceMappingURL=snapshot-restore.js.map
// EXTERNAL MODULE: ../../node_modules/.pnpm/yaml@2.9.1/node_modules/yaml/dist/index.js
var dist = __webpack_require__(8293);
;// CONCATENATED MODULE: ../../packages/core/dist/extensions/builtin/compose-ssh/labels-override.js


/**
 * From the merged compose model: the services to wait for, and an override file that labels every
 * service, the default network and each named volume with the sandbox id and its expiry.
 */
function labelsOverride(config, labels, selected, options = {}) {
    const all = Object.keys(config.services);
    const unknown = selected.filter((s) => !all.includes(s));
    if (unknown.length > 0) {
        throw new errors/* InputError */.dz(`input "services": ${unknown.join(', ')} not in the compose files (services: ${all.join(', ')})`);
    }
    const override = {};
    if (config.version)
        override.version = String(config.version);
    // podman-compose 1.0.3 merges override files only value for value of the same type ("can't merge
    // value of labels of type list and dict"): labels go in the form the service already uses, and a
    // volume declared empty (`data:`) is left to its project label.
    const asList = (service) => options.podmanCompose && Array.isArray(service?.labels);
    const listed = Object.entries(labels).map(([k, v]) => `${k}=${v}`);
    override.services = Object.fromEntries(all.map((name) => [name, { labels: asList(config.services[name]) ? listed : labels }]));
    const volumes = Object.entries(config.volumes).filter(([, v]) => !v?.external && !(options.podmanCompose && (v === null || v === undefined)));
    if (volumes.length > 0)
        override.volumes = Object.fromEntries(volumes.map(([name]) => [name, { labels }]));
    // podman-compose refuses a declared network no service uses ("missing networks: default"): with
    // networks of its own and no default, a stack there gets no default network to label.
    const noDefault = options.podmanCompose && Object.keys(config.networks).length > 0 && !('default' in config.networks);
    if (!config.networks.default?.external && !noDefault)
        override.networks = { default: { labels } };
    // Every value double-quoted: Compose v1 reads YAML 1.1, where an unquoted ISO time or `true` is not a string.
    const text = (0,dist/* stringify */.As)(override, {
        defaultStringType: 'QUOTE_DOUBLE',
        // Keys too: a service named `on` or `yes` would be a boolean to YAML 1.1.
        defaultKeyType: 'QUOTE_DOUBLE',
        aliasDuplicateObjects: false,
    });
    return { services: selected.length > 0 ? selected : all, override: text };
}
//# sourceMappingURL=labels-override.js.map
;// CONCATENATED MODULE: ../../packages/core/dist/extensions/builtin/compose-ssh/model.js



/** Compose files larger than this are left to the host's `compose config`. */
const MAX_LOCAL_BYTES = 1024 * 1024;
/** `compose config`'s merged output as a model. */
function modelOf(yamlText) {
    return modelOfDocument((0,dist/* parse */.qg)(yamlText, { merge: true }));
}
function modelOfDocument(parsed) {
    const doc = (parsed ?? {});
    return {
        ...(doc.version !== undefined && doc.version !== null ? { version: String(doc.version) } : {}),
        services: doc.services ?? {},
        volumes: doc.volumes ?? {},
        networks: doc.networks ?? {},
    };
}
/**
 * The merged model of `files` (relative to `repo`) read here, or undefined when only the host's
 * `compose config` can tell: a file that is missing, a symlink (the host resolves it on its side),
 * too large or not plain YAML maps, and anything that takes names from elsewhere or leaves services
 * out — a top-level `include`, `extends` from another file, `profiles`, an interpolated version,
 * a volume or network declared in two files or interpolated.
 * Later files override earlier ones key by key, as Compose merges them.
 */
function localComposeModel(repo, files) {
    const texts = [];
    for (const file of files) {
        const path = (0,external_node_path_.join)(repo, file);
        const stat = (0,external_node_fs_.lstatSync)(path, { throwIfNoEntry: false });
        if (!stat?.isFile() || stat.size > MAX_LOCAL_BYTES)
            return undefined;
        texts.push((0,external_node_fs_.readFileSync)(path, 'utf8'));
    }
    return mergedModel(texts);
}
/**
 * The merged model of compose files' texts, in order, or undefined when only `compose config` can
 * tell (see localComposeModel). Also how a podman-compose host's files are read: podman-compose
 * 1.0.3 has no `config` command.
 */
function mergedModel(texts) {
    const merged = { services: {}, volumes: {}, networks: {} };
    for (const text of texts) {
        let raw;
        try {
            raw = (0,dist/* parse */.qg)(text, { merge: true });
        }
        catch {
            return undefined; // the host's `compose config` gives the user its own message
        }
        if (!isMap(raw) || 'include' in raw)
            return undefined;
        const model = modelOfDocument(raw);
        if (![model.services, model.volumes, model.networks].every(isMap))
            return undefined;
        for (const service of Object.values(model.services)) {
            if (!isMap(service) || 'profiles' in service)
                return undefined;
            if (isMap(service.extends) && 'file' in service.extends)
                return undefined;
        }
        if (model.version?.includes('$'))
            return undefined;
        // Compose merges a volume or network named in two files key by key (and reads `external:
        // ${VAR}` after interpolation): only the host's `compose config` knows how such entries end up.
        const named = [...Object.keys(model.volumes), ...Object.keys(model.networks)];
        const seen = [...Object.keys(merged.volumes), ...Object.keys(merged.networks)];
        if (named.some((name) => seen.includes(name)))
            return undefined;
        if (JSON.stringify([model.volumes, model.networks]).includes('$'))
            return undefined;
        merged.version ??= model.version;
        Object.assign(merged.services, model.services);
        Object.assign(merged.volumes, model.volumes);
        Object.assign(merged.networks, model.networks);
    }
    return merged;
}
function isMap(value) {
    return typeof value === 'object' && value !== null && !Array.isArray(value);
}
//# sourceMappingURL=model.js.map
;// CONCATENATED MODULE: ../../packages/core/dist/extensions/builtin/compose-ssh/podman-limits.js

/**
 * What Podman cannot do for a profile, found before anything is made rather than half-way through a
 * job: rootless Podman on a cgroup v1 host cannot pause containers ("can not pause containers on
 * rootless containers with cgroup V1"), so a profile whose snapshots hold services still by pausing
 * them would fail at its first snapshot. Asked of the host only then (one round trip).
 */
async function checkPodmanCanServe(session, runtime, profile, where) {
    if (runtime.engine !== 'podman' || profile?.snapshot?.consistency !== 'pause')
        return;
    const answer = await session.run('printf "%s %s\\n" "$(id -u)" "$(stat -fc %T /sys/fs/cgroup 2>/dev/null)"', {
        what: 'asking how Podman runs containers',
    });
    const [uid, cgroupFs] = answer.trim().split(' ');
    if (uid !== '0' && cgroupFs !== 'cgroup2fs') {
        throw new errors/* UnsupportedError */.Wt(`profile ${profile.id} snapshots with consistency: pause, which rootless Podman on ${where} cannot do (a cgroup v1 host cannot pause rootless containers); nothing was created. Use consistency: stop in the profile's snapshot options, log in as root, or use a cgroup v2 host`, { host: where, field: 'snapshot.consistency' });
    }
}
//# sourceMappingURL=podman-limits.js.map
;// CONCATENATED MODULE: ../../packages/core/dist/extensions/builtin/compose-ssh/stack.js














/** Connects, and works out everything that names this sandbox's stack on the host. */
async function prepareStack(settings, request) {
    const { sandboxId, progress } = request;
    const { inputs } = request;
    const host = (0,ssh_access/* remoteHostOf */._s)(request.host, settings.extensionId);
    if (!isAuto(settings.composeCommand))
        composeRuntime(settings.composeCommand); // refused before connecting
    progress?.(`connecting to ${host.name} (${(0,target/* destination */.j_)(host.ssh)})`);
    const session = await settings.access.open(host.ssh);
    try {
        // Which compose the host has (`auto`) is asked alongside the base directory: no extra wait.
        const [runtime, base] = await Promise.all([
            resolveRuntime(session, settings.composeCommand),
            (0,remote_workspace_workspace/* resolveBaseDir */.lM)(session, host.base_dir ?? settings.baseDir, 'base_dir'),
        ]);
        if (isAuto(settings.composeCommand))
            progress?.(`compose runtime on ${host.name}: ${runtime.words.join(' ')}`);
        await (0,host_resources/* checkFloors */.sz)(session, host, base);
        await checkPodmanCanServe(session, runtime, request.profile, host.name);
        const dir = (0,remote_workspace_workspace/* sandboxDirOf */.YS)(base, sandboxId);
        const project = {
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
    }
    catch (error) {
        session.close();
        throw error;
    }
}
/** What the host-side switch runs at expiry for this stack: stop and sweep it, remove its directory. */
function reapCommand(runtime, base, sandboxId, stopTimeout) {
    return `${reapProjectCommand(runtime, `sbx-${sandboxId}`, stopTimeout)}; ${(0,remote_workspace_workspace/* removeWorkspaceCommand */.$e)((0,remote_workspace_workspace/* sandboxDirOf */.YS)(base, sandboxId), sandboxId)}`;
}
/** The command that arms the stack's host-side dead-man's switch (see expiry-switch.ts). */
function stackSwitchCommand(stack) {
    const reap = reapCommand(stack.project.runtime, stack.base, stack.sandboxId, stack.inputs.stopTimeout);
    return (0,expiry_switch/* armSwitchCommand */.yd)(stack.base, stack.sandboxId, stack.expiresAt, reap, stack.leaseSeconds);
}
/**
 * Makes the labels file (upStack writes it next to the compose files) and the handle. The names to label come
 * from the repo's compose files on this machine when `localRepo` is given and they are plain enough
 * (see localComposeModel); otherwise from `compose config` on the host, which also checks the files.
 * Either way a broken file fails `compose up` before anything is created.
 */
async function configureStack(stack, progress, localRepo) {
    const { session, project, inputs } = stack;
    const words = project.runtime.words.join(' ');
    let model = localRepo === undefined ? undefined : localComposeModel(localRepo, project.files);
    if (model === undefined && project.runtime.engine === 'podman') {
        model = await hostFilesModel(stack);
    }
    else if (model === undefined && localRepo === undefined) {
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
    if (!project.files.includes(LABELS_FILE))
        project.files.push(LABELS_FILE);
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
async function hostFilesModel(stack) {
    const model = mergedModel(await hostFileTexts(stack));
    if (!model) {
        throw new errors/* InputError */.dz(`input "compose_files": ${stack.project.files.join(', ')} need \`compose config\` to be read (include, extends from another file, profiles or interpolated names), which podman-compose 1.0.3 does not have: simplify them, or use Docker Compose on this host`);
    }
    return model;
}
/**
 * Docker Compose: the host's files merged here as a create merges its local ones, or undefined when
 * only `compose config` can tell (or a file cannot be read): `config` then runs and words any error.
 */
async function plainHostFilesModel(stack) {
    const texts = await hostFileTexts(stack).catch(() => undefined);
    return texts && mergedModel(texts);
}
async function hostFileTexts(stack) {
    const texts = [];
    for (const file of stack.project.files) {
        texts.push(await stack.session.run((0,ssh_quote/* command */.G5)('cat', '--', (0,ssh_quote/* remotePathInside */._Y)(stack.dir, file)), {
            what: `reading ${file}`,
            maxOutputBytes: 1024 * 1024,
        }));
    }
    return texts;
}
/**
 * `compose up -d` (or `up --no-start`, so a restore can fill the volumes before anything runs).
 * Returns the time readiness must be reached by: `up -d` starts the wait_timeout budget, and itself
 * may spend no more of it (Compose waits inside `up` for `depends_on: condition: service_healthy`).
 */
async function upStack(stack, progress, mode = '-d') {
    const { project, inputs, pendingLabels } = stack;
    progress?.(`${project.runtime.words.join(' ')} -p ${project.project} up ${mode}`);
    stack.signal?.throwIfAborted();
    const up = composeCommand(project, 'up', mode, ...inputs.services);
    // The directory holds the user's repo: a planted symlink of this name must not redirect the write,
    // so the name is removed (a link goes, not its target) and made afresh (`set -C`: O_EXCL).
    const labels = (0,ssh_quote/* quote */.hD)(`${stack.dir}/${LABELS_FILE}`);
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
    if (result.timedOut || result.code !== 0)
        await failUp(stack, result, mode);
    return readyBy;
}
/** Why `up` failed, naming services (with their health checks and logs) where Compose named containers. */
async function failUp(stack, result, mode) {
    const { session, project, inputs } = stack;
    const where = `${project.project} on ${session.destination}`;
    const output = `${result.stderr}\n${result.stdout}`;
    if (result.timedOut) {
        const unready = await unreadyContainers(session, project.runtime, project.project).catch(() => []);
        const list = unready.map((c) => `${c.service} (${c.status})`).join(', ') || 'none started';
        throw new errors/* ProvisionError */.uv(`compose up ${mode} of ${where} did not finish within wait_timeout (${inputs.waitTimeout} s); waiting for: ${list}\n${await describeServices(session, project.runtime, unready).catch(() => '')}`, { wait_timeout: inputs.waitTimeout, services: unready.map((c) => c.service) });
    }
    const unhealthy = await explainUnhealthy(session, project.runtime, project.project, output).catch(() => undefined);
    const tail = (0,tail_buffer/* lastLines */.w)(result.stderr || result.stdout, 20);
    if (unhealthy) {
        throw new errors/* ProvisionError */.uv(`compose up ${mode} of ${where} failed (exit ${result.code}): ${unhealthy}`, {
            exit_code: result.code,
        });
    }
    // `docker compose` on a v1-only host: "unknown shorthand flag: 'p' in -p" or "unknown command".
    const words = project.runtime.words.join(' ');
    const missing = /unknown shorthand flag|unknown command|command not found|No such file/.test(output)
        ? `\n(is \`${words}\` installed on ${session.destination}? compose-command / SANDBOXER_COMPOSE_CMD names another, and \`auto\` finds the one the host has)`
        : '';
    throw new errors/* RemoteCommandError */.at(`compose up ${mode === '-d' ? '' : `${mode} `}on ${session.destination} failed (exit ${result.code})${tail ? `:\n${tail}` : ''}${missing}`, result.code);
}

//# sourceMappingURL=stack.js.map
;// CONCATENATED MODULE: ../../packages/core/dist/extensions/builtin/compose-ssh/snapshot-hooks.js










/**
 * ext.compose-ssh's snapshot hooks: capture a stack, restore it as a new sandbox or in place, and
 * move or delete its artifacts. See docs/snapshots.md for what is captured and how consistently.
 */
/** Captures a ready stack into an artifact kept on its host. */
async function snapshotCompose(settings, raw, request) {
    const handle = raw;
    const host = (0,ssh_access/* hostOfHandle */.wn)(handle, settings.extensionId);
    return settings.access.with(host.ssh, async (session) => {
        const base = await (0,remote_workspace_workspace/* resolveBaseDir */.lM)(session, host.base_dir ?? settings.baseDir, 'base_dir');
        const runtime = await resolveRuntime(session, handle.compose_command ?? settings.composeCommand);
        request.progress?.(`capturing ${request.capture.join(' and ')} of ${handle.compose_project} (services ${request.consistency === 'pause' ? 'paused' : 'stopped'} meanwhile)`);
        const result = await captureSnapshot(session, {
            runtime,
            project: `sbx-${handle.sandbox_id}`,
            dir: (0,remote_workspace_workspace/* sandboxDirOf */.YS)(base, handle.sandbox_id),
            base,
            snapshotId: request.snapshotId,
            capture: request.capture,
            consistency: request.consistency,
            // Stopped services keep their data here: never less than the usual grace.
            stopTimeout: Math.max(handle.stop_timeout ?? DEFAULT_STOP_GRACE, SNAPSHOT_STOP_GRACE),
            manifest: {
                snapshot_id: request.snapshotId,
                sandbox_id: handle.sandbox_id,
                created_at: new Date().toISOString(),
            },
        });
        request.progress?.(`snapshot ${request.snapshotId}: ${result.size} bytes on ${host.name}, services ${request.consistency === 'pause' ? 'paused' : 'stopped'} for ${result.pausedMs} ms`);
        return {
            location: { kind: 'host', host: host.name, target: host, path: result.artifact },
            size_bytes: result.size,
            sha256: result.sha256,
            contents: result.contents,
            consistency: request.consistency,
            paused_ms: result.pausedMs,
            inputs: {
                compose_files: (handle.compose_files ?? []).filter((f) => f !== LABELS_FILE).join(','),
                services: (handle.services ?? []).join(','),
                stop_timeout: String(handle.stop_timeout ?? DEFAULT_STOP_GRACE),
                wait_timeout: String(handle.wait_timeout ?? 120),
            },
        };
    });
}
/** Restores into a new stack (in place of provision) or over a live one; see docs/snapshots.md. */
async function restoreCompose(settings, prepare, sessions, source, target) {
    const { snapshot } = source;
    const contents = snapshot.contents ?? { workspace: false, volumes: [] };
    if (target.mode === 'new') {
        const { request } = target;
        const stack = await prepare(request);
        const { session, host, dir } = stack;
        // Its index is checked (and the artifact uploaded if need be) before anything is made on the
        // host; each member is checked as it is extracted, and a mismatch rolls the new sandbox back.
        const artifact = await ensureArtifact(session, host, stack.base, source, request.progress, false);
        request.progress?.(`creating ${dir} from snapshot ${snapshot.id}`);
        await (0,remote_workspace_workspace/* createWorkspace */.sK)(session, stack.base, dir, {
            sandbox_id: request.sandboxId,
            extension: settings.extensionId,
            restored_from: snapshot.id,
            ...stack.labels,
        }, stackSwitchCommand(stack));
        if (contents.workspace)
            await restoreWorkspace(session, artifact, dir, false);
        return startRestored(stack, artifact, contents, request.progress);
    }
    const handle = target.handle;
    const stack = await prepare({
        sandboxId: handle.sandbox_id,
        inputs: target.inputs,
        host: (0,ssh_access/* hostOfHandle */.wn)(handle, settings.extensionId),
        createdAt: target.createdAt,
        expiresAt: target.expiresAt,
        ...(target.progress ? { progress: target.progress } : {}),
        ...(target.signal ? { signal: target.signal } : {}),
    });
    const host = stack.host;
    const { session, dir, project } = stack;
    try {
        // Every member is checked before `down -v`: a corrupt artifact must not cost the live data.
        const artifact = await ensureArtifact(session, host, stack.base, source, target.progress, true);
        target.progress?.(`${project.runtime.words.join(' ')} -p ${project.project} down -v (restoring in place)`);
        await session.run(composeCommand({ ...project, files: handle.compose_files ?? project.files }, ...composeDownArgs(project.runtime, handle.stop_timeout ?? DEFAULT_STOP_GRACE, { keepImages: true })), { what: 'compose down', timeoutMs: 10 * 60_000 });
        if (contents.workspace)
            await restoreWorkspace(session, artifact, dir, true);
        return await startRestored(stack, artifact, contents, target.progress);
    }
    finally {
        session.close();
        sessions.drop(handle.sandbox_id);
    }
}
/** Labels, `up --no-start`, the volumes copied in, then `up -d`: services first run on restored data. */
async function startRestored(stack, artifact, contents, progress) {
    const handle = await configureStack(stack, progress);
    if (contents.volumes.length > 0) {
        await upStack(stack, progress, '--no-start');
        await restoreVolumes(stack.session, stack.project.runtime, stack.project.project, artifact, contents.volumes, progress);
    }
    handle.ready_by = await upStack(stack, progress);
    return handle;
}
/** Streams a host-kept artifact into a local file. */
async function pullComposeArtifact(settings, location, localPath) {
    if (location.kind !== 'host')
        throw new errors/* InputError */.dz(`${settings.extensionId}: can only pull a copy kept on a host`);
    const host = (0,ssh_access/* remoteHostOf */._s)(location.target, settings.extensionId);
    await settings.access.with(host.ssh, (session) => downloadArtifact(session, location.path, localPath));
}
/** Deletes a host-kept artifact, only ever at a path this extension would have made. */
async function deleteComposeArtifact(settings, location) {
    if (location.kind !== 'host')
        return;
    const host = (0,ssh_access/* remoteHostOf */._s)(location.target, settings.extensionId);
    await settings.access.with(host.ssh, async (session) => {
        const base = await (0,remote_workspace_workspace/* resolveBaseDir */.lM)(session, host.base_dir ?? settings.baseDir, 'base_dir');
        // Only ever a path this extension would have made: never trust a path from a state file blindly.
        const id = location.path
            .split('/')
            .pop()
            ?.replace(/\.tar$/, '') ?? '';
        const expected = artifactPathOf(base, id);
        if (expected !== location.path) {
            throw new errors/* InputError */.dz(`${settings.extensionId}: refusing to delete ${location.path}: not a snapshot artifact under ${base}`);
        }
        await session.run(deleteArtifactCommand(expected), { what: 'deleting the snapshot artifact' });
    });
}
//# sourceMappingURL=snapshot-hooks.js.map
;// CONCATENATED MODULE: ../../packages/core/dist/extensions/builtin/compose-ssh/teardown.js






/**
 * Takes one sandbox's stack down and removes its directory, from a full handle or a minimal one
 * (a rollback, or a record whose provision never returned): stop any compose command still running
 * for it, `compose down` when the compose files are known, then sweep what carries its label,
 * remove the directory if it is ours, and list what is left (with how to remove it by hand).
 */
async function tearDownStack(session, handle, engines, base, options = {}) {
    const projectName = `sbx-${handle.sandbox_id}`;
    const dir = (0,remote_workspace_workspace/* sandboxDirOf */.YS)(base, handle.sandbox_id);
    const removed = [];
    // A create that was cancelled may have left `compose up` running on the host: stopped first.
    const stop = stopProjectCommandsCommand(projectName);
    let down;
    if (handle.compose_files && handle.compose_command) {
        // A graceful stop first (services get stop_timeout to exit), then the label sweep below.
        const runtime = composeRuntime(handle.compose_command);
        const args = composeDownArgs(runtime, handle.stop_timeout ?? DEFAULT_STOP_GRACE);
        options.progress?.(`${runtime.words.join(' ')} -p ${projectName} ${args.join(' ')}`);
        const project = { runtime, dir, project: projectName, files: handle.compose_files, env: {} };
        // In a subshell: it `cd`s into the directory that the cleanup then removes.
        down = `(${composeCommand(project, ...args)}) >/dev/null 2>&1; echo "down-exit=$?"`;
    }
    // One round trip for all of it, as a script on stdin (the remote command line is then `sh -s`,
    // which the stop's `pkill -f` pattern cannot match: it would kill this very shell): the stop, the
    // `down`, then the label sweep, the directory's removal, the check for leftovers and — only when
    // nothing is left and the directory went — disarming the switch; until then it still stands guard
    // at the expiry.
    const cleanUp = cleanUpScript(engines.map((engine) => ({ engine })), projectName, base, dir, handle.sandbox_id, handle.sync_cache);
    const result = await session.exec('sh -s', {
        // One group, read whole before it runs, with its stdin closed: a command that reads stdin
        // (rootless podman-compose does) must not swallow the rest of the script.
        stdin: `{\n${[stop, ...(down ? [down] : []), cleanUp].join('\n')}\n} </dev/null\n`,
        what: 'compose down and removing labelled resources and the directory',
        timeoutMs: 10 * 60_000,
    });
    if (result.code !== 0 || result.timedOut) {
        const tail = (0,tail_buffer/* lastLines */.w)(result.stderr.trim(), 20);
        throw new errors/* RemoteCommandError */.at(`removing labelled resources and the directory on ${session.destination} failed (${result.timedOut ? 'timed out' : `exit ${result.code}`})${tail ? `:\n${tail}` : ''}`, result.code);
    }
    const downExit = /^down-exit=(\d+)\n/.exec(result.stdout);
    if (downExit?.[1] === '0')
        removed.push(`compose project ${projectName}`);
    const [swept = '', removal = '', check = ''] = result.stdout
        .slice(downExit?.[0].length ?? 0)
        .split(`${TEARDOWN_SECTION}\n`);
    removed.push(...swept.split('\n').filter(Boolean));
    const workspace = (0,remote_workspace_workspace/* workspaceRemoval */.eP)(removal, dir, session.destination);
    removed.push(...workspace.removed);
    const leftovers = [
        ...workspace.leftovers,
        ...parseContainers(check).map((c) => `container ${c.id.slice(0, 12)} of ${projectName} (remove with: ${engines.join(' or ')} rm -f -v ${c.id.slice(0, 12)})`),
    ];
    return { removed, leftovers, already_gone: removed.length === 0 && !workspace.existed };
}
//# sourceMappingURL=teardown.js.map
;// CONCATENATED MODULE: ../../packages/core/dist/extensions/builtin/compose-ssh/extension.js



















const configSchema = schemas/* object */.Ikc({
    // `auto`: the first of docker compose, docker-compose, podman-compose the host has (runtime-detect.ts).
    compose_command: schemas/* string */.YjP().default(AUTO),
    base_dir: schemas/* string */.YjP().default('~/sandboxer'),
    internal_rate_per_minute: schemas/* number */.aig().nonnegative().default(0),
});
/**
 * A Docker Compose stack per sandbox on a host reached over SSH: `<base>/sbx-<id>/` holds the synced
 * repo, and the stack runs as compose project `sbx-<id>`. One SSH connection serves the whole create
 * (provision and wait-ready) plus one for rsync.
 */
class ComposeSshExtension {
    id;
    hostKind = 'ssh';
    /** The compose command: the caller's choice (e.g. `docker-compose`), else the declaration's. */
    composeCommandText;
    #config;
    #access;
    /** Sessions opened by provision and reused by waitReady (or rollback) in the same process. */
    #sessions;
    constructor(context) {
        this.id = context.declaration.id;
        this.#config = (0,inputs/* parseExtensionConfig */.b)(this.id, configSchema, context.declaration.config);
        this.composeCommandText = context.composeCommand?.trim() || this.#config.compose_command;
        this.#access = new ssh_access/* SshAccess */.$C(context);
        this.#sessions = new ssh_access/* SessionPool */.dE(this.#access);
    }
    /** What the stack helpers need from this extension's configuration. */
    get #settings() {
        return {
            extensionId: this.id,
            baseDir: this.#config.base_dir,
            composeCommand: this.composeCommandText,
            access: this.#access,
        };
    }
    /** Prepares the stack and keeps its session for waitReady (or a rollback) in this process. */
    async #prepare(request) {
        const stack = await prepareStack(this.#settings, request);
        this.#sessions.keep(request.sandboxId, stack.session);
        return stack;
    }
    validateInputs(inputs, options = {}) {
        const parsed = parseComposeInputs(this.id, inputs, options);
        if (!isAuto(this.composeCommandText))
            composeRuntime(this.composeCommandText);
        return parsed;
    }
    async provision(request) {
        const stack = await this.#prepare(request);
        request.phase?.('connected');
        const { session, dir, inputs } = stack;
        const repo = inputs.repo; // validateInputs requires it for a provision
        request.progress?.(`creating ${dir}`);
        // The host probe for the sync needs no sandbox directory: it runs while the directory is made.
        const sync = (0,remote_workspace_sync/* startSync */.u)(session, repo, inputs.syncMethod, stack.base);
        // Armed as soon as there is something to remove: from here on, the sandbox goes at its expiry
        // even if this process (or its runner) dies.
        await (0,remote_workspace_workspace/* createWorkspace */.sK)(session, stack.base, dir, { sandbox_id: request.sandboxId, extension: this.id, ...stack.labels }, stackSwitchCommand(stack));
        request.signal?.throwIfAborted();
        const synced = await (0,remote_workspace_sync/* syncWorkspace */.x)(session, repo, dir, inputs.syncMethod, request.progress, sync);
        request.phase?.('synced');
        request.signal?.throwIfAborted();
        const handle = await configureStack(stack, request.progress, repo);
        // A spare copy of the cache for the next sandbox, started at teardown; an overlay layer needs none.
        if (synced.fill === 'copy' && sync.cacheDir)
            handle.sync_cache = sync.cacheDir;
        request.signal?.throwIfAborted();
        // The readiness loop starts while `up` runs: the wait's first poll is then one round trip.
        StackPoller.prepare(session, stack.project.runtime, stack.project.project);
        handle.ready_by = await upStack(stack, request.progress);
        request.phase?.('up');
        return handle;
    }
    async waitReady(raw, options = {}) {
        const handle = raw;
        const host = (0,ssh_access/* hostOfHandle */.wn)(handle, this.id);
        const session = await this.#sessions.take(handle.sandbox_id, host.ssh);
        try {
            return await waitUntilReady(session, handle, host, options);
        }
        finally {
            session.close();
        }
    }
    async teardown(raw, options = {}) {
        const handle = raw;
        const host = (0,ssh_access/* hostOfHandle */.wn)(handle, this.id);
        const session = await this.#sessions.take(handle.sandbox_id, host.ssh);
        try {
            const base = await (0,remote_workspace_workspace/* resolveBaseDir */.lM)(session, host.base_dir ?? this.#config.base_dir, 'base_dir');
            // The runtime the record names (the one that ran `up`); else every engine the host has.
            const engines = await enginesFor(session, handle.compose_command, this.composeCommandText);
            return await tearDownStack(session, handle, engines, base, options);
        }
        finally {
            session.close();
        }
    }
    snapshot(handle, request) {
        return snapshotCompose(this.#settings, handle, request);
    }
    restore(source, target) {
        return restoreCompose(this.#settings, (r) => this.#prepare(r), this.#sessions, source, target);
    }
    pullArtifact(location, localPath) {
        return pullComposeArtifact(this.#settings, location, localPath);
    }
    deleteArtifact(location) {
        return deleteComposeArtifact(this.#settings, location);
    }
    /** Moves the host-side switch (extend); false if it already fired there. */
    async reschedule(raw, expiresAt) {
        const host = (0,ssh_access/* hostOfHandle */.wn)(raw, this.id);
        return this.#access.with(host.ssh, async (session) => {
            const base = await (0,remote_workspace_workspace/* resolveBaseDir */.lM)(session, host.base_dir ?? this.#config.base_dir, 'base_dir');
            const answer = await session.run((0,expiry_switch/* rescheduleSwitchCommand */.Sr)(base, raw.sandbox_id, expiresAt), {
                what: 'moving the expiry switch',
            });
            return answer.trim() === 'moved';
        });
    }
    /** Renews the lease on the host-side switch; false once the sandbox is gone there. */
    async renewLease(raw) {
        return this.#access.with((0,ssh_access/* hostOfHandle */.wn)(raw, this.id).ssh, (session) => this.#renew(session, raw));
    }
    async #renew(session, raw) {
        const host = (0,ssh_access/* hostOfHandle */.wn)(raw, this.id);
        const base = await (0,remote_workspace_workspace/* resolveBaseDir */.lM)(session, host.base_dir ?? this.#config.base_dir, 'base_dir');
        return (0,expiry_switch/* renewLeaseOver */.os)(session, base, raw.sandbox_id);
    }
    /** Free disk under the host's base dir, available memory (`sandboxer hosts probe`). */
    checkAccess(target) {
        this.#access.checkAccess((0,ssh_access/* remoteHostOf */._s)(target, this.id).ssh);
    }
    async probeHost(target) {
        const host = (0,ssh_access/* remoteHostOf */._s)(target, this.id);
        return this.#access.with(host.ssh, async (session) => (0,host_resources/* probeResources */.yV)(session, await (0,remote_workspace_workspace/* resolveBaseDir */.lM)(session, host.base_dir ?? this.#config.base_dir, 'base_dir')));
    }
    /** Every compose sandbox on the host: `sbx-*` directories, labelled containers, armed switches. */
    async findSandboxes(target) {
        const host = (0,ssh_access/* remoteHostOf */._s)(target, this.id);
        return this.#access.with(host.ssh, async (session) => {
            const base = await (0,remote_workspace_workspace/* resolveBaseDir */.lM)(session, host.base_dir ?? this.#config.base_dir, 'base_dir');
            // Every engine the host has (`auto`): a sandbox made with another runtime is found too.
            const engines = await enginesFor(session, undefined, this.composeCommandText);
            return (0,host_scan/* parseFindings */.S)(await session.run((0,host_scan/* findSandboxesCommand */.i)(base, engines), { what: 'looking for sandboxes' }), base);
        });
    }
    /** The host's sync caches (`<base>/.sandboxer-cache/`) unused for longer than asked. */
    async pruneCaches(target, options) {
        const host = (0,ssh_access/* remoteHostOf */._s)(target, this.id);
        return this.#access.with(host.ssh, async (session) => {
            const base = await (0,remote_workspace_workspace/* resolveBaseDir */.lM)(session, host.base_dir ?? this.#config.base_dir, 'base_dir');
            const cacheBase = (0,host_cache/* cacheBaseOf */.xg)(base);
            const output = await session.run((0,host_cache/* pruneCachesCommand */.t4)(cacheBase, options.olderThanMinutes, options.dryRun === true), { what: 'pruning unused sync caches', timeoutMs: 30 * 60_000 });
            return (0,host_cache/* parsePrunedCaches */.Vx)(output).map((c) => ({
                path: `${cacheBase}/${c.key}`,
                last_used: c.lastUsed.toISOString(),
                size_kib: c.sizeKiB,
                result: c.result,
            }));
        });
    }
    /** Each service's log: tails, or followed (see operate.ts). */
    async logs(raw, options) {
        const handle = raw;
        const host = (0,ssh_access/* hostOfHandle */.wn)(handle, this.id);
        await this.#access.with(host.ssh, async (session) => stackLogs(session, handle, await resolveRuntime(session, handle.compose_command ?? this.composeCommandText), options));
    }
    /** The stack's host and directory, for ssh(1). */
    async loginTarget(raw) {
        const handle = raw;
        const host = (0,ssh_access/* hostOfHandle */.wn)(handle, this.id);
        return this.#access.loginTarget(host.ssh, handle.remote_dir ?? '.');
    }
    /** One SSH connection to the stack's host: streams to its published ports. */
    async openChannel(raw) {
        const session = await this.#access.open((0,ssh_access/* hostOfHandle */.wn)(raw, this.id).ssh);
        return new channel/* SshChannel */.cb(session, (over) => this.#renew(over, raw));
    }
    /** A command in a service's container, or in the sandbox directory. */
    async exec(raw, request) {
        const handle = raw;
        const host = (0,ssh_access/* hostOfHandle */.wn)(handle, this.id);
        return this.#access.with(host.ssh, async (session) => {
            const base = await (0,remote_workspace_workspace/* resolveBaseDir */.lM)(session, host.base_dir ?? this.#config.base_dir, 'base_dir');
            const runtime = await resolveRuntime(session, handle.compose_command ?? this.composeCommandText);
            return execInStack(session, handle, runtime, base, request);
        });
    }
}
const createComposeSsh = (context) => new ComposeSshExtension(context);
//# sourceMappingURL=extension.js.map

/***/ })

};
;