"use strict";
exports.id = 996;
exports.ids = [996];
exports.modules = {

/***/ 5126:
/***/ ((__unused_webpack___webpack_module__, __webpack_exports__, __webpack_require__) => {

/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   cb: () => (/* binding */ SshChannel),
/* harmony export */   nq: () => (/* binding */ execOnHost),
/* harmony export */   yS: () => (/* binding */ workspaceExecCommand)
/* harmony export */ });
/* harmony import */ var _ssh_quote_js__WEBPACK_IMPORTED_MODULE_0__ = __webpack_require__(5810);

/** Reaching a sandbox on an SSH host: streams to its ports, and commands in it. */
/**
 * A SandboxChannel over one SSH connection: direct-tcpip streams to the ports the host sees, and —
 * given how to renew the sandbox's lease — renewals over the same connection.
 */
class SshChannel {
    #session;
    renewLease;
    constructor(session, renew) {
        this.#session = session;
        if (renew)
            this.renewLease = () => renew(session);
    }
    connect(host, port) {
        return this.#session.forwardOut(host, port);
    }
    get alive() {
        return this.#session.alive;
    }
    close() {
        this.#session.close();
    }
}
/** `cd -- <dir> && exec <argv…>`: every argument quoted, so none is re-split or interpreted. */
function workspaceExecCommand(dir, argv) {
    if (argv.length === 0)
        throw new Error('no command to run');
    return `${(0,_ssh_quote_js__WEBPACK_IMPORTED_MODULE_0__/* .command */ .G5)('cd', '--', dir)} && exec ${(0,_ssh_quote_js__WEBPACK_IMPORTED_MODULE_0__/* .command */ .G5)(...argv)}`;
}
/**
 * Runs a built command on the host with the request's streams; resolves its exit code (a command
 * stopped by the caller, or whose connection dropped, exits 255, as ssh(1) reports it).
 */
async function execOnHost(session, remote, request) {
    const result = await session.exec(remote, {
        ...(request.stdin ? { stdin: request.stdin } : {}),
        onStdout: request.stdout,
        onStderr: request.stderr,
        // The output is streamed to the caller; only a short tail is kept for nothing.
        maxOutputBytes: 4096,
        // A command runs as long as it runs (a test suite): the caller stops it with its signal.
        timeoutMs: 7 * 24 * 3600 * 1000,
        ...(request.signal ? { signal: request.signal } : {}),
        what: 'the command',
    });
    return result.code ?? 255;
}
//# sourceMappingURL=channel.js.map

/***/ }),

/***/ 3359:
/***/ ((__unused_webpack___webpack_module__, __webpack_exports__, __webpack_require__) => {

/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   BC: () => (/* binding */ switchDirOf),
/* harmony export */   Sr: () => (/* binding */ rescheduleSwitchCommand),
/* harmony export */   eK: () => (/* binding */ disarmSwitchCommand),
/* harmony export */   os: () => (/* binding */ renewLeaseOver),
/* harmony export */   yd: () => (/* binding */ armSwitchCommand)
/* harmony export */ });
/* unused harmony exports SWITCH_POLL_SECONDS, LEASE_POLL_SECONDS, sleeperScript, renewLeaseCommand */
/* harmony import */ var _errors_js__WEBPACK_IMPORTED_MODULE_0__ = __webpack_require__(1092);
/* harmony import */ var _ssh_quote_js__WEBPACK_IMPORTED_MODULE_1__ = __webpack_require__(5810);
/* harmony import */ var _util_ids_js__WEBPACK_IMPORTED_MODULE_2__ = __webpack_require__(5310);



/**
 * The host-side dead-man's switch: when an SSH extension makes a sandbox, it leaves on the host a
 * detached sleeper that tears the sandbox down at its expiry unless it was destroyed (or extended)
 * first — so a sandbox whose creator vanished still disappears, with no central service running.
 *
 * Why a sleeper and not `systemd-run`/`at`: neither is available to an unprivileged SSH user on every
 * host (containers run no systemd; `at` is rarely installed). A `setsid nohup sh` survives the SSH
 * session on any POSIX host. Its state is two files under `<base>/.sandboxer-switch/`:
 *  - `<id>.expires`: the expiry in Unix seconds. `extend` rewrites it; teardown deletes it.
 *  - `<id>.pid`: the sleeper's process group, so teardown can stop it at once.
 *  - `<id>.lease` (with a lease only): the lease in seconds; its modification time is the last
 *    renewal (`touch`). The sandbox is torn down when the lease has not been renewed for that long,
 *    or at its expiry, whichever comes first.
 * The sleeper wakes at least once a minute (every LEASE_POLL_SECONDS with a lease), so a rewritten
 * expiry is seen within a minute and a deleted one ends it. When it fires it runs the extension's
 * reap command and logs one line to `<base>/.sandboxer-switch/reaped.log`, saying whether the lease
 * lapsed or the sandbox expired.
 */
/** Pure builders, tested by table and run for real in a local shell. */
function switchDirOf(base) {
    return (0,_ssh_quote_js__WEBPACK_IMPORTED_MODULE_1__/* .remotePathInside */ ._Y)(base, '.sandboxer-switch');
}
function files(base, sandboxId) {
    if (!(0,_util_ids_js__WEBPACK_IMPORTED_MODULE_2__/* .isSandboxId */ .rN)(sandboxId))
        throw new _errors_js__WEBPACK_IMPORTED_MODULE_0__/* .InputError */ .dz(`refusing unexpected sandbox id ${JSON.stringify(sandboxId)}`);
    const dir = switchDirOf(base);
    return {
        dir,
        expires: `${dir}/${sandboxId}.expires`,
        pid: `${dir}/${sandboxId}.pid`,
        lease: `${dir}/${sandboxId}.lease`,
        log: `${dir}/reaped.log`,
    };
}
/** How often the sleeper looks at its expiry file at most (seconds). */
const SWITCH_POLL_SECONDS = 60;
/** … and at its lease, so that a lapsed lease ends the sandbox within this many seconds. */
const LEASE_POLL_SECONDS = 5;
/**
 * The sleeper's script. `reap` is a command built from quoted parts by the extension (stop the
 * stack, remove the workspace); it runs only once the expiry has passed and the file still exists.
 */
function sleeperScript(base, sandboxId, reap, pollSeconds = SWITCH_POLL_SECONDS, leasePollSeconds = LEASE_POLL_SECONDS) {
    const f = files(base, sandboxId);
    return [
        `echo $$ > ${(0,_ssh_quote_js__WEBPACK_IMPORTED_MODULE_1__/* .quote */ .hD)(f.pid)}`,
        'why=expired',
        'while :; do',
        `  exp=$(cat ${(0,_ssh_quote_js__WEBPACK_IMPORTED_MODULE_1__/* .quote */ .hD)(f.expires)} 2>/dev/null) || exit 0`,
        '  case "$exp" in ""|*[!0-9]*) exit 0;; esac',
        '  now=$(date +%s)',
        '  [ "$now" -ge "$exp" ] && break',
        `  left=$((exp - now)); poll=${pollSeconds}`,
        // A lease: its deadline is the last renewal (the file's mtime) plus the lease.
        `  lease=$(cat ${(0,_ssh_quote_js__WEBPACK_IMPORTED_MODULE_1__/* .quote */ .hD)(f.lease)} 2>/dev/null || true)`,
        '  case "$lease" in ""|*[!0-9]*) ;; *)',
        `    renewed=$(stat -c %Y ${(0,_ssh_quote_js__WEBPACK_IMPORTED_MODULE_1__/* .quote */ .hD)(f.lease)} 2>/dev/null || echo "$now")`,
        '    due=$((renewed + lease - now))',
        // biome-ignore lint/suspicious/noTemplateCurlyInString: a shell parameter, expanded by sh.
        '    if [ "$due" -le 0 ]; then why="lease lapsed (not renewed for ${lease}s)"; break; fi',
        '    [ "$due" -lt "$left" ] && left=$due',
        `    poll=${leasePollSeconds};;`,
        '  esac',
        '  [ "$left" -gt "$poll" ] && left=$poll',
        '  sleep "$left"',
        'done',
        `{ ${reap}; } >/dev/null 2>&1`,
        `rm -f -- ${(0,_ssh_quote_js__WEBPACK_IMPORTED_MODULE_1__/* .quote */ .hD)(f.expires)} ${(0,_ssh_quote_js__WEBPACK_IMPORTED_MODULE_1__/* .quote */ .hD)(f.pid)} ${(0,_ssh_quote_js__WEBPACK_IMPORTED_MODULE_1__/* .quote */ .hD)(f.lease)}`,
        `echo "$(date -u +%Y-%m-%dT%H:%M:%SZ) ${sandboxId} $why: torn down by the host-side switch" >> ${(0,_ssh_quote_js__WEBPACK_IMPORTED_MODULE_1__/* .quote */ .hD)(f.log)}`,
    ].join('\n');
}
/**
 * Arms the switch: writes the expiry file, then starts the sleeper detached from the SSH session
 * (new session, no terminal, every descriptor closed, so sshd does not wait for it).
 */
function armSwitchCommand(base, sandboxId, expiresAt, reap, leaseSeconds) {
    const f = files(base, sandboxId);
    const epoch = String(Math.ceil(expiresAt.getTime() / 1000));
    const lease = leaseSeconds !== undefined && leaseSeconds > 0 ? String(Math.ceil(leaseSeconds)) : undefined;
    return [
        'umask 077',
        (0,_ssh_quote_js__WEBPACK_IMPORTED_MODULE_1__/* .command */ .G5)('mkdir', '-p', '--', f.dir),
        // Written (and so renewed) before the sleeper starts: the lease runs from now.
        ...(lease ? [`printf '%s\\n' ${lease} > ${(0,_ssh_quote_js__WEBPACK_IMPORTED_MODULE_1__/* .quote */ .hD)(f.lease)}`] : []),
        `printf '%s\\n' ${epoch} > ${(0,_ssh_quote_js__WEBPACK_IMPORTED_MODULE_1__/* .quote */ .hD)(`${f.expires}.tmp`)}`,
        (0,_ssh_quote_js__WEBPACK_IMPORTED_MODULE_1__/* .command */ .G5)('mv', '--', `${f.expires}.tmp`, f.expires),
        `(nohup setsid sh -c ${(0,_ssh_quote_js__WEBPACK_IMPORTED_MODULE_1__/* .quote */ .hD)(sleeperScript(base, sandboxId, reap))} </dev/null >/dev/null 2>&1 &)`,
        'echo armed',
    ].join(' && ');
}
/** Moves the expiry (extend); prints `gone` when the switch has already fired or was disarmed. */
function rescheduleSwitchCommand(base, sandboxId, expiresAt) {
    const f = files(base, sandboxId);
    const epoch = String(Math.ceil(expiresAt.getTime() / 1000));
    return `if [ -f ${(0,_ssh_quote_js__WEBPACK_IMPORTED_MODULE_1__/* .quote */ .hD)(f.expires)} ]; then printf '%s\\n' ${epoch} > ${(0,_ssh_quote_js__WEBPACK_IMPORTED_MODULE_1__/* .quote */ .hD)(`${f.expires}.tmp`)} && ${(0,_ssh_quote_js__WEBPACK_IMPORTED_MODULE_1__/* .command */ .G5)('mv', '--', `${f.expires}.tmp`, f.expires)} && echo moved; else echo gone; fi`;
}
/**
 * Renews a lease (the keeper, every lease/4): the lease file's mtime is the last renewal. Prints
 * `gone` when the switch has fired or was disarmed, so the keeper can stop.
 */
function renewLeaseCommand(base, sandboxId) {
    const f = files(base, sandboxId);
    return `if [ -f ${(0,_ssh_quote_js__WEBPACK_IMPORTED_MODULE_1__/* .quote */ .hD)(f.lease)} ] && [ -f ${(0,_ssh_quote_js__WEBPACK_IMPORTED_MODULE_1__/* .quote */ .hD)(f.expires)} ]; then ${(0,_ssh_quote_js__WEBPACK_IMPORTED_MODULE_1__/* .command */ .G5)('touch', '-c', '--', f.lease)} && echo renewed; else echo gone; fi`;
}
/** Renews the lease over an open session; false when the sandbox is gone there. */
async function renewLeaseOver(session, base, sandboxId) {
    const answer = await session.run(renewLeaseCommand(base, sandboxId), { what: 'renewing the lease' });
    return answer.trim() === 'renewed';
}
/**
 * Disarms it (teardown): deletes the expiry file and stops the sleeper's process group, if the pid
 * file still names a sleeper of this sandbox (a recycled pid is left alone).
 */
function disarmSwitchCommand(base, sandboxId) {
    const f = files(base, sandboxId);
    return [
        `rm -f -- ${(0,_ssh_quote_js__WEBPACK_IMPORTED_MODULE_1__/* .quote */ .hD)(f.expires)}`,
        `pid=$(cat ${(0,_ssh_quote_js__WEBPACK_IMPORTED_MODULE_1__/* .quote */ .hD)(f.pid)} 2>/dev/null || true)`,
        `case "$pid" in ""|*[!0-9]*) ;; *) if grep -qF ${(0,_ssh_quote_js__WEBPACK_IMPORTED_MODULE_1__/* .quote */ .hD)(sandboxId)} "/proc/$pid/cmdline" 2>/dev/null; then kill -s TERM -- "-$pid" 2>/dev/null || kill -s TERM "$pid" 2>/dev/null; fi;; esac`,
        `rm -f -- ${(0,_ssh_quote_js__WEBPACK_IMPORTED_MODULE_1__/* .quote */ .hD)(f.pid)} ${(0,_ssh_quote_js__WEBPACK_IMPORTED_MODULE_1__/* .quote */ .hD)(f.lease)}`,
        'true',
    ].join('; ');
}
//# sourceMappingURL=expiry-switch.js.map

/***/ }),

/***/ 1115:
/***/ ((__unused_webpack___webpack_module__, __webpack_exports__, __webpack_require__) => {

/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   sz: () => (/* binding */ checkFloors),
/* harmony export */   yV: () => (/* binding */ probeResources)
/* harmony export */ });
/* unused harmony exports hostResourcesCommand, parseHostResources */
/* harmony import */ var _errors_js__WEBPACK_IMPORTED_MODULE_0__ = __webpack_require__(1092);
/* harmony import */ var _ssh_quote_js__WEBPACK_IMPORTED_MODULE_1__ = __webpack_require__(5810);
/* harmony import */ var _util_size_js__WEBPACK_IMPORTED_MODULE_2__ = __webpack_require__(1247);



/** Free disk under a host's base dir and its available memory: one cheap command on an open connection. */
/**
 * `df` of the base dir (or its nearest existing parent: it may not exist yet) and MemAvailable, as
 * two numbers of KiB on two lines; an empty line for what the host cannot say.
 */
function hostResourcesCommand(base) {
    return [
        `d=${(0,_ssh_quote_js__WEBPACK_IMPORTED_MODULE_1__/* .quote */ .hD)(base)}; while [ ! -e "$d" ]; do d=$(dirname -- "$d"); done`,
        `df -Pk -- "$d" 2>/dev/null | awk 'NR==2 {print $4}'`,
        `awk '/^MemAvailable:/ {print $2}' /proc/meminfo 2>/dev/null || true`,
    ].join('; ');
}
function parseHostResources(output) {
    const [disk, memory] = output.split('\n').map((l) => l.trim());
    const kib = (text) => (text && /^\d+$/.test(text) ? Number(text) * 1024 : undefined);
    const resources = {};
    const freeDisk = kib(disk);
    const freeMemory = kib(memory);
    if (freeDisk !== undefined)
        resources.free_disk_bytes = freeDisk;
    if (freeMemory !== undefined)
        resources.free_memory_bytes = freeMemory;
    return resources;
}
async function probeResources(session, base) {
    return parseHostResources(await session.run(hostResourcesCommand(base), { what: 'probing free disk and memory' }));
}
/**
 * A create's first check on a host with floors (`min_free_disk`, `min_free_memory`): below one, the
 * host is unfit (host-level: a pool tries its next host). Without floors, nothing is asked.
 */
async function checkFloors(session, host, base) {
    if (host.min_free_disk === undefined && host.min_free_memory === undefined)
        return;
    const found = await probeResources(session, base);
    const below = (what, free, floor, setting) => {
        if (floor === undefined || free === undefined || free >= floor)
            return;
        throw new _errors_js__WEBPACK_IMPORTED_MODULE_0__/* .ProvisionError */ .uv(`host ${host.name} has ${(0,_util_size_js__WEBPACK_IMPORTED_MODULE_2__/* .formatBytes */ .z3)(free)} ${what} (its ${setting} is ${(0,_util_size_js__WEBPACK_IMPORTED_MODULE_2__/* .formatBytes */ .z3)(floor)})`, {
            host: host.name,
            // Read by routing/host-failures.ts: the host, not the stack, is at fault.
            host_level: `below its ${setting}`,
        });
    };
    below('free under its base dir', found.free_disk_bytes, host.min_free_disk, 'min_free_disk');
    below('of memory available', found.free_memory_bytes, host.min_free_memory, 'min_free_memory');
}
//# sourceMappingURL=host-resources.js.map

/***/ }),

/***/ 325:
/***/ ((__unused_webpack___webpack_module__, __webpack_exports__, __webpack_require__) => {

/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   S: () => (/* binding */ parseFindings),
/* harmony export */   i: () => (/* binding */ findSandboxesCommand)
/* harmony export */ });
/* harmony import */ var _ssh_quote_js__WEBPACK_IMPORTED_MODULE_0__ = __webpack_require__(5810);
/* harmony import */ var _util_ids_js__WEBPACK_IMPORTED_MODULE_1__ = __webpack_require__(5310);
/* harmony import */ var _expiry_switch_js__WEBPACK_IMPORTED_MODULE_2__ = __webpack_require__(3359);
/* harmony import */ var _workspace_js__WEBPACK_IMPORTED_MODULE_3__ = __webpack_require__(1744);




/**
 * What `gc` sees on a host, whatever any state store says: `sbx-*` directories (with their marker),
 * armed expiry switches and, where there is a container engine, everything labelled by sand-boxer.
 * One remote command prints one line per thing found; parseFindings groups them by sandbox.
 */
function findSandboxesCommand(base, engine) {
    const marker = `"$d"/${(0,_ssh_quote_js__WEBPACK_IMPORTED_MODULE_0__/* .quote */ .hD)(_workspace_js__WEBPACK_IMPORTED_MODULE_3__/* .MARKER_FILE */ .cu)}`;
    // Only names made of [a-z0-9-] (and `.` for switch files): a name with a space or a newline in it
    // must not be able to forge a line for another sandbox.
    const parts = [
        `for d in ${(0,_ssh_quote_js__WEBPACK_IMPORTED_MODULE_0__/* .quote */ .hD)(base)}/sbx-*; do n=\${d##*/}; case "$n" in *[!a-z0-9-]*) continue;; esac; [ -d "$d" ] || continue; printf 'dir %s %s\\n' "$n" "$(head -c 4000 ${marker} 2>/dev/null | tr -d '\\n')"; done`,
        // Removed directories whose background deletion died (older than 5 minutes: a fresh one is
        // still being deleted); their expiry is when they were removed, so gc finishes them.
        `for t in ${(0,_ssh_quote_js__WEBPACK_IMPORTED_MODULE_0__/* .quote */ .hD)((0,_workspace_js__WEBPACK_IMPORTED_MODULE_3__/* .trashDirOf */ .pq)(base))}/sbx-*; do n=\${t##*/}; case "$n" in *[!a-z0-9.-]*) continue;; esac; [ -d "$t" ] || continue; [ -n "$(find "$t" -maxdepth 0 -mmin +5 2>/dev/null)" ] || continue; printf 'trash %s %s\\n' "$n" "$(stat -c %Y "$t" 2>/dev/null)"; done`,
        `for f in ${(0,_ssh_quote_js__WEBPACK_IMPORTED_MODULE_0__/* .quote */ .hD)((0,_expiry_switch_js__WEBPACK_IMPORTED_MODULE_2__/* .switchDirOf */ .BC)(base))}/*.expires; do n=\${f##*/}; case "$n" in *[!a-z0-9.]*) continue;; esac; [ -f "$f" ] || continue; printf 'switch %s %s\\n' "\${n%.expires}" "$(head -c 20 "$f" | tr -d '\\n')"; done`,
        // Leases: their length and last renewal, so a lapsed one counts as expired even when no sleeper
        // runs to enforce it (the host rebooted).
        `for f in ${(0,_ssh_quote_js__WEBPACK_IMPORTED_MODULE_0__/* .quote */ .hD)((0,_expiry_switch_js__WEBPACK_IMPORTED_MODULE_2__/* .switchDirOf */ .BC)(base))}/*.lease; do n=\${f##*/}; case "$n" in *[!a-z0-9.]*) continue;; esac; [ -f "$f" ] || continue; printf 'lease %s %s %s\\n' "\${n%.lease}" "$(head -c 20 "$f" | tr -d '\\n')" "$(stat -c %Y "$f" 2>/dev/null)"; done`,
    ];
    for (const e of engine === undefined ? [] : Array.isArray(engine) ? engine : [engine]) {
        // Podman's listings have no `.Label` method (a template error, hidden by 2>/dev/null, would hide
        // everything): its labels are a map, under `.Network` for networks.
        const label = (kind, key) => e === 'docker'
            ? `{{.Label "${key}"}}`
            : `{{index ${kind === 'network' ? '.Network.Labels' : '.Labels'} "${key}"}}`;
        const labels = (kind) => `${label(kind, 'dev.sandboxer.sandbox-id')} ${label(kind, 'dev.sandboxer.expires-at')}`;
        const filter = ['--filter', 'label=dev.sandboxer.managed=true'];
        // Volumes have a .Name but no .ID: a template error there would hide every volume.
        const list = (kind, key, ...args) => `${(0,_ssh_quote_js__WEBPACK_IMPORTED_MODULE_0__/* .command */ .G5)(e, ...args, ...filter, '--format', `${key} ${labels(kind)}`)} 2>/dev/null | sed 's/^/${kind} /'`;
        parts.push(list('container', '{{.ID}}', 'ps', '-a'), list('network', '{{.ID}}', 'network', 'ls'), list('volume', '{{.Name}}', 'volume', 'ls'), 
        // Images Compose built carry no labels, only the project's name (see sweepBuiltImagesCommand).
        `${(0,_ssh_quote_js__WEBPACK_IMPORTED_MODULE_0__/* .command */ .G5)(e, 'images', '--format', '{{.Repository}}:{{.Tag}}')} 2>/dev/null | sed -n 's#^\\(localhost/\\)\\{0,1\\}\\(sbx-[a-z0-9]\\{12\\}\\)[-_].*#image & \\2#p'`);
    }
    parts.push('true');
    return parts.join('; ');
}
/**
 * Groups the scan's lines by sandbox id; the host's own view of the expiry wins (switch, then marker,
 * then labels), or the end of its lease when that comes first.
 */
function parseFindings(output, base) {
    const found = new Map();
    const entry = (id) => {
        let e = found.get(id);
        if (!e) {
            e = { resources: [] };
            found.set(id, e);
        }
        return e;
    };
    for (const line of output.split('\n')) {
        const [kind, first = '', ...rest] = line.trim().split(' ');
        const tail = rest.join(' ');
        if (kind === 'dir') {
            const id = first.replace(/^sbx-/, '');
            if (!(0,_util_ids_js__WEBPACK_IMPORTED_MODULE_1__/* .isSandboxId */ .rN)(id))
                continue;
            const e = entry(id);
            e.resources.push(`directory ${base}/${first}`);
            try {
                const marker = JSON.parse(tail);
                e.markerAt = marker['dev.sandboxer.expires-at'] ?? marker.expires_at;
            }
            catch {
                // No marker or a torn one: the directory is still reported; removal checks the marker itself.
            }
        }
        else if (kind === 'trash') {
            const id = first.replace(/^sbx-/, '').replace(/\.\d+$/, '');
            if (!(0,_util_ids_js__WEBPACK_IMPORTED_MODULE_1__/* .isSandboxId */ .rN)(id))
                continue;
            const e = entry(id);
            e.resources.push(`directory ${(0,_workspace_js__WEBPACK_IMPORTED_MODULE_3__/* .trashDirOf */ .pq)(base)}/${first} (removed, deletion unfinished)`);
            if (/^\d+$/.test(tail))
                e.trashedAt = new Date(Number(tail) * 1000).toISOString();
        }
        else if (kind === 'switch' && (0,_util_ids_js__WEBPACK_IMPORTED_MODULE_1__/* .isSandboxId */ .rN)(first)) {
            const e = entry(first);
            e.resources.push('expiry switch');
            if (/^\d+$/.test(tail))
                e.switchAt = new Date(Number(tail) * 1000).toISOString();
        }
        else if (kind === 'lease' && (0,_util_ids_js__WEBPACK_IMPORTED_MODULE_1__/* .isSandboxId */ .rN)(first)) {
            const [seconds = '', renewed = ''] = rest;
            if (/^\d+$/.test(seconds) && /^\d+$/.test(renewed)) {
                entry(first).leaseAt = new Date((Number(renewed) + Number(seconds)) * 1000).toISOString();
            }
        }
        else if (kind === 'image' && first && /^sbx-/.test(rest[0] ?? '')) {
            const id = (rest[0] ?? '').slice(4);
            if ((0,_util_ids_js__WEBPACK_IMPORTED_MODULE_1__/* .isSandboxId */ .rN)(id))
                entry(id).resources.push(`image ${first}`);
        }
        else if ((kind === 'container' || kind === 'network' || kind === 'volume') && first) {
            const [id = '', expires] = rest;
            if (!(0,_util_ids_js__WEBPACK_IMPORTED_MODULE_1__/* .isSandboxId */ .rN)(id))
                continue;
            const e = entry(id);
            e.resources.push(`${kind} ${kind === 'volume' ? first : first.slice(0, 12)}`);
            if (expires)
                e.labelAt = expires;
        }
    }
    return [...found.entries()].map(([sandbox_id, e]) => {
        const hostView = e.switchAt ?? e.markerAt ?? e.labelAt ?? e.trashedAt;
        // A lapsed lease ends the sandbox before its expiry: whichever comes first.
        const expires = e.leaseAt !== undefined && (hostView === undefined || Date.parse(e.leaseAt) < Date.parse(hostView))
            ? e.leaseAt
            : hostView;
        return { sandbox_id, resources: e.resources, ...(expires ? { expires_at: expires } : {}) };
    });
}
//# sourceMappingURL=host-scan.js.map

/***/ }),

/***/ 1750:
/***/ ((__unused_webpack___webpack_module__, __webpack_exports__, __webpack_require__) => {

/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   $C: () => (/* binding */ SshAccess),
/* harmony export */   _s: () => (/* binding */ remoteHostOf),
/* harmony export */   dE: () => (/* binding */ SessionPool),
/* harmony export */   wn: () => (/* binding */ hostOfHandle)
/* harmony export */ });
/* harmony import */ var node_fs__WEBPACK_IMPORTED_MODULE_0__ = __webpack_require__(3024);
/* harmony import */ var _errors_js__WEBPACK_IMPORTED_MODULE_1__ = __webpack_require__(1092);
/* harmony import */ var _ssh_known_hosts_js__WEBPACK_IMPORTED_MODULE_2__ = __webpack_require__(9095);
/* harmony import */ var _ssh_session_js__WEBPACK_IMPORTED_MODULE_3__ = __webpack_require__(5927);
/* harmony import */ var _ssh_target_js__WEBPACK_IMPORTED_MODULE_4__ = __webpack_require__(429);





/**
 * How an SSH extension reaches its hosts: with the key text its caller handed over (the action's
 * `ssh-key`), else each host's identity file; warnings go where the caller said. Nothing here reads
 * the environment: the composition root passes the key in.
 */
class SshAccess {
    #key;
    #agent;
    #override;
    #warn;
    constructor(runtime) {
        this.#key = runtime.sshKey || undefined;
        this.#agent = runtime.sshAgent || undefined;
        this.#override = runtime.sshOverride ?? {};
        this.#warn = runtime.warn ?? ((message) => process.stderr.write(`${message}\n`));
    }
    get sessionOptions() {
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
    target(stored) {
        // The override holds only the flags given (see hosts/resolve.ts sshFlags).
        const o = this.#override;
        const verifies = o.known_hosts !== undefined || o.fingerprint !== undefined || o.insecure_ignore_host_key;
        if (!verifies && o.identity_file === undefined)
            return stored;
        const { known_hosts: _k, fingerprint: _f, insecure_ignore_host_key: _i, ...rest } = stored;
        return { ...(verifies ? rest : stored), ...o };
    }
    /**
     * Whether this process can log in to the host at all: key text, else a readable identity file,
     * else an ssh-agent. Checked before anything is recorded (a usage error, exit 2 on the CLI).
     */
    checkAccess(stored) {
        const target = this.target(stored);
        const key = this.#keyFor(target);
        if (!('file' in key))
            return;
        try {
            (0,node_fs__WEBPACK_IMPORTED_MODULE_0__.accessSync)(key.file, node_fs__WEBPACK_IMPORTED_MODULE_0__.constants.R_OK);
        }
        catch (error) {
            throw new _errors_js__WEBPACK_IMPORTED_MODULE_1__/* .InputError */ .dz(`cannot read SSH key file ${key.file} for ${(0,_ssh_target_js__WEBPACK_IMPORTED_MODULE_4__/* .destination */ .j_)(target)}: ${error.code ?? 'unreadable'}`, { field: 'ssh_key' });
        }
    }
    /** Opens a session; a failure here means nothing ran on the host (SshError phase `connect`). */
    open(target) {
        return _ssh_session_js__WEBPACK_IMPORTED_MODULE_3__/* .SshSession */ .vM.open(this.target(target), this.sessionOptions);
    }
    /** Opens a session, runs `fn`, and always closes it. */
    with(target, fn) {
        return (0,_ssh_session_js__WEBPACK_IMPORTED_MODULE_3__/* .withSession */ .fQ)(this.target(target), this.sessionOptions, fn);
    }
    /** How ssh(1) logs in to `target`: the host key verified by connecting now, and the key to use. */
    async loginTarget(stored, dir) {
        const target = this.target(stored);
        const [hostKey, jumpKey] = await this.with(target, async (session) => [
            session.hostKey,
            session.jump?.hostKey,
        ]);
        return {
            ssh: target,
            knownHostsLine: (0,_ssh_known_hosts_js__WEBPACK_IMPORTED_MODULE_2__/* .knownHostsLine */ .TZ)(target.address, target.port, hostKey),
            ...(target.jump && jumpKey
                ? { jumpKnownHostsLine: (0,_ssh_known_hosts_js__WEBPACK_IMPORTED_MODULE_2__/* .knownHostsLine */ .TZ)(target.jump.address, target.jump.port, jumpKey) }
                : {}),
            dir,
            key: this.#keyFor(target),
        };
    }
    /** How to log in, in this order: the key text given, the host's identity file, the ssh-agent. */
    #keyFor(target) {
        if (this.#key)
            return { text: this.#key };
        if (target.identity_file)
            return { file: target.identity_file };
        if (this.#agent)
            return { agent: this.#agent };
        throw new _errors_js__WEBPACK_IMPORTED_MODULE_1__/* .InputError */ .dz(`no SSH key for ${(0,_ssh_target_js__WEBPACK_IMPORTED_MODULE_4__/* .destination */ .j_)(target)}: give one (an identity file, identity_file in the hosts file, the key itself, or an ssh-agent in SSH_AUTH_SOCK)`, { field: 'ssh_key' });
    }
}
/** The RemoteHost an SSH extension works on, from a provision request or from a stored handle. */
function remoteHostOf(host, extensionId) {
    const candidate = host;
    if (!candidate?.ssh?.address) {
        throw new _errors_js__WEBPACK_IMPORTED_MODULE_1__/* .InputError */ .dz(`host: ${extensionId} needs a host reached over SSH (user@address[:port] or a hosts-file alias)`, { field: 'host' });
    }
    return candidate;
}
/** The handle's target, for teardown and wait-ready in any process. */
function hostOfHandle(handle, extensionId) {
    return remoteHostOf(handle.target, extensionId);
}
/**
 * The sessions provisions opened, kept for the waitReady (or rollback) that follows in the same
 * process, so a create needs one connection for its commands. A kept session whose connection has
 * dropped is never handed out again.
 */
class SessionPool {
    #sessions = new Map();
    #access;
    constructor(access) {
        this.#access = access;
    }
    keep(sandboxId, session) {
        this.#sessions.set(sandboxId, session);
    }
    /** The kept session if it is still connected, else a new one; either way it is no longer kept. */
    async take(sandboxId, target) {
        const kept = this.#sessions.get(sandboxId);
        this.#sessions.delete(sandboxId);
        if (kept?.alive)
            return kept;
        kept?.close();
        return this.#access.open(target);
    }
    /** Forgets a session its user has closed. */
    drop(sandboxId) {
        this.#sessions.delete(sandboxId);
    }
}
//# sourceMappingURL=ssh-access.js.map

/***/ }),

/***/ 178:
/***/ ((__unused_webpack___webpack_module__, __webpack_exports__, __webpack_require__) => {

/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   u: () => (/* binding */ startSync),
/* harmony export */   x: () => (/* binding */ syncWorkspace)
/* harmony export */ });
/* harmony import */ var _sync_host_cache_js__WEBPACK_IMPORTED_MODULE_0__ = __webpack_require__(4946);
/* harmony import */ var _sync_host_probe_js__WEBPACK_IMPORTED_MODULE_1__ = __webpack_require__(8998);
/* harmony import */ var _sync_sync_repo_js__WEBPACK_IMPORTED_MODULE_2__ = __webpack_require__(9491);
/* harmony import */ var _workspace_js__WEBPACK_IMPORTED_MODULE_3__ = __webpack_require__(1744);




/**
 * Starts what a sync can do before the sandbox directory exists — asking the host for rsync and
 * flock, making the repo's cache directory under `cacheBase` — so it runs alongside createWorkspace.
 */
function startSync(session, repo, method, cacheBase) {
    const cacheDir = cacheBase ? (0,_sync_host_cache_js__WEBPACK_IMPORTED_MODULE_0__/* .cacheDirOf */ .BU)(cacheBase, repo) : undefined;
    return { cacheDir, tools: (0,_sync_host_probe_js__WEBPACK_IMPORTED_MODULE_1__/* .probeHost */ .z)(session, method, cacheDir) };
}
/** Syncs a local repo into the workspace (rsync, through the host's cache of it, or tar), never deleting the marker. */
async function syncWorkspace(session, repo, dir, method, progress, started) {
    return (0,_sync_sync_repo_js__WEBPACK_IMPORTED_MODULE_2__/* .syncRepo */ .E)({
        ...(started.cacheDir ? { cacheDir: started.cacheDir } : {}),
        tools: started.tools,
        session,
        localDir: repo,
        remoteDir: dir,
        method,
        protect: [_workspace_js__WEBPACK_IMPORTED_MODULE_3__/* .MARKER_FILE */ .cu],
        progress,
    });
}
//# sourceMappingURL=sync.js.map

/***/ }),

/***/ 1744:
/***/ ((__unused_webpack___webpack_module__, __webpack_exports__, __webpack_require__) => {

/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   $e: () => (/* binding */ removeWorkspaceCommand),
/* harmony export */   YS: () => (/* binding */ sandboxDirOf),
/* harmony export */   cu: () => (/* binding */ MARKER_FILE),
/* harmony export */   eP: () => (/* binding */ workspaceRemoval),
/* harmony export */   lM: () => (/* binding */ resolveBaseDir),
/* harmony export */   pq: () => (/* binding */ trashDirOf),
/* harmony export */   qh: () => (/* binding */ removeWorkspace),
/* harmony export */   sK: () => (/* binding */ createWorkspace)
/* harmony export */ });
/* unused harmony exports createWorkspaceCommand, markerContent */
/* harmony import */ var node_path__WEBPACK_IMPORTED_MODULE_0__ = __webpack_require__(6760);
/* harmony import */ var _errors_js__WEBPACK_IMPORTED_MODULE_1__ = __webpack_require__(1092);
/* harmony import */ var _ssh_quote_js__WEBPACK_IMPORTED_MODULE_2__ = __webpack_require__(5810);
/* harmony import */ var _sync_host_cache_js__WEBPACK_IMPORTED_MODULE_3__ = __webpack_require__(4946);
/* harmony import */ var _util_ids_js__WEBPACK_IMPORTED_MODULE_4__ = __webpack_require__(5310);





/**
 * The per-sandbox directory `<base>/sbx-<id>/` of SSH-based extensions: created with a marker file
 * (and the expiry switch armed in the same round trip), removed only if the marker says it is ours.
 */
/** Written into every sandbox directory at creation; teardown deletes only directories that have it. */
const MARKER_FILE = '.sandboxer-sandbox.json';
/** `~/x` is expanded with the login user's home on the host; the result must be absolute and normal. */
async function resolveBaseDir(session, configured, what) {
    let base = configured;
    if (configured === '~' || configured.startsWith('~/')) {
        const home = await session.home();
        if (!home.startsWith('/')) {
            throw new _errors_js__WEBPACK_IMPORTED_MODULE_1__/* .InputError */ .dz(`${what} ${configured}: the login user's $HOME on the host is not an absolute path`);
        }
        base = `${home}${configured.slice(1)}`;
    }
    (0,_ssh_quote_js__WEBPACK_IMPORTED_MODULE_2__/* .assertAbsoluteRemotePath */ .nA)(base.replace(/\/+$/, '') || '/', what);
    return base.replace(/\/+$/, '');
}
function sandboxDirOf(base, sandboxId) {
    if (!(0,_util_ids_js__WEBPACK_IMPORTED_MODULE_4__/* .isSandboxId */ .rN)(sandboxId))
        throw new _errors_js__WEBPACK_IMPORTED_MODULE_1__/* .InputError */ .dz(`refusing unexpected sandbox id ${JSON.stringify(sandboxId)}`);
    return (0,_ssh_quote_js__WEBPACK_IMPORTED_MODULE_2__/* .remotePathInside */ ._Y)(base, `sbx-${sandboxId}`);
}
/** `mkdir` (not -p) fails if the directory exists: a sandbox never adopts an existing directory. */
function createWorkspaceCommand(base, dir) {
    return (0,_ssh_quote_js__WEBPACK_IMPORTED_MODULE_2__/* .and */ .Uo)((0,_ssh_quote_js__WEBPACK_IMPORTED_MODULE_2__/* .command */ .G5)('mkdir', '-p', '--', base), (0,_ssh_quote_js__WEBPACK_IMPORTED_MODULE_2__/* .command */ .G5)('mkdir', '-m', '0750', '--', dir), `cat > ${(0,_ssh_quote_js__WEBPACK_IMPORTED_MODULE_2__/* .quote */ .hD)(`${dir}/${MARKER_FILE}`)}`);
}
function markerContent(fields) {
    return `${JSON.stringify({ managed_by: 'sand-boxer', ...fields })}\n`;
}
/** Where removed sandbox directories wait for their deletion in the background: `<base>/.sandboxer-trash/`. */
function trashDirOf(base) {
    return node_path__WEBPACK_IMPORTED_MODULE_0__.posix.join(base, '.sandboxer-trash');
}
/**
 * Removes the sandbox directory only if it is one we created: its marker names this sandbox id.
 * A directory whose marker never got written (e.g. the disk filled up) is removed only if it is
 * otherwise empty. Prints `removed`, `absent`, `foreign`, `rm-failed` or `trash-failed`.
 *
 * Deleting a big repo's copy takes seconds (tens of thousands of unlinks), so when every file in it
 * is the login user's (deletion can then only fail on a full-disk-like fault) the directory is
 * renamed into the trash — the sandbox is gone at once — and deleted there by a detached `rm`. If
 * that `rm` dies (a reboot), the next removal of the same id and `gc` (host-scan.ts) finish it.
 * Files owned by someone else (root, from a container) take the slow path, which can report them.
 */
function removeWorkspaceCommand(dir, sandboxId) {
    const marker = (0,_ssh_quote_js__WEBPACK_IMPORTED_MODULE_2__/* .quote */ .hD)(`${dir}/${MARKER_FILE}`);
    const qdir = (0,_ssh_quote_js__WEBPACK_IMPORTED_MODULE_2__/* .quote */ .hD)(dir);
    const trash = (0,_ssh_quote_js__WEBPACK_IMPORTED_MODULE_2__/* .quote */ .hD)(trashDirOf(node_path__WEBPACK_IMPORTED_MODULE_0__.posix.dirname(dir)));
    const inTrash = `${trash}/${(0,_ssh_quote_js__WEBPACK_IMPORTED_MODULE_2__/* .quote */ .hD)(node_path__WEBPACK_IMPORTED_MODULE_0__.posix.basename(dir))}`;
    const ours = `grep -qF ${(0,_ssh_quote_js__WEBPACK_IMPORTED_MODULE_2__/* .quote */ .hD)(`"sandbox_id":"${sandboxId}"`)} ${marker} 2>/dev/null`;
    const allMine = `o=$(find ${qdir} '!' -user "$(id -u)" -print -quit 2>/dev/null) && [ -z "$o" ]`;
    const toTrash = `${allMine} && mkdir -p -- ${trash} && t=${inTrash}.$$ && mv -- ${qdir} "$t"`;
    // Owning every file is not always enough to delete it: a directory without u+w (a Go module cache)
    // needs a chmod first.
    const rmHard = (path) => `{ rm -rf -- ${path} 2>/dev/null || { chmod -R u+rwx -- ${path} && rm -rf -- ${path}; }; }`;
    const deleteLater = `touch -- "$t"; (nohup setsid nice sh -c ${(0,_ssh_quote_js__WEBPACK_IMPORTED_MODULE_2__/* .quote */ .hD)(rmHard('"$0"'))} "$t" </dev/null >/dev/null 2>&1 &)`;
    // Everything but the marker goes first, the marker last: if deleting stops half-way (files owned by
    // another user), the directory is still recognisably ours and a retry gives the same advice.
    const contents = `${(0,_ssh_quote_js__WEBPACK_IMPORTED_MODULE_2__/* .command */ .G5)('find', dir, '-mindepth', '1', '-maxdepth', '1', '!', '-name', MARKER_FILE, '-exec', 'rm', '-rf', '--', '{}', '+')}`;
    const onlyMarkerLeft = `[ -z "$(${(0,_ssh_quote_js__WEBPACK_IMPORTED_MODULE_2__/* .command */ .G5)('ls', '-A', '--', dir)} | grep -vxF ${(0,_ssh_quote_js__WEBPACK_IMPORTED_MODULE_2__/* .quote */ .hD)(MARKER_FILE)})" ]`;
    // Filled as an overlay layer (sync/host-cache.ts): unmounted first (a mount point cannot be moved),
    // which shows the directory as it was made, marker included; its layers go to the trash too.
    const layer = (0,_ssh_quote_js__WEBPACK_IMPORTED_MODULE_2__/* .quote */ .hD)((0,_sync_host_cache_js__WEBPACK_IMPORTED_MODULE_3__/* .layerDirOf */ .sD)(dir));
    const unmount = `if [ -d ${layer} ]; then { umount -- ${qdir} || umount -l -- ${qdir}; } 2>/dev/null; mkdir -p -- ${trash} && l=${trash}/layers-${(0,_ssh_quote_js__WEBPACK_IMPORTED_MODULE_2__/* .quote */ .hD)(node_path__WEBPACK_IMPORTED_MODULE_0__.posix.basename(dir))}.$$ && mv -- ${layer} "$l" && (nohup setsid nice rm -rf -- "$l" </dev/null >/dev/null 2>&1 &); fi`;
    return [
        unmount,
        // Gone already; what an earlier removal left in the trash (its `rm` died) goes now.
        `if [ ! -e ${qdir} ]; then if ! ls -d -- ${inTrash}.* >/dev/null 2>&1; then echo absent; elif ${rmHard(`${inTrash}.*`)}; then echo absent; else echo trash-failed; fi`,
        `elif ${ours}; then if ${toTrash}; then ${deleteLater}; echo removed; elif ${contents} && rm -rf -- ${qdir}; then echo removed; else echo rm-failed; fi`,
        // No marker (or an empty one: the disk filled up): only an otherwise empty directory goes.
        `elif [ ! -s ${marker} ] && ${onlyMarkerLeft}; then rm -f -- ${marker}; rmdir -- ${qdir} && echo removed`,
        'else echo foreign; fi',
    ].join('; ');
}
/** Interprets removeWorkspaceCommand's answer into a cleanup report fragment. */
function workspaceRemoval(output, dir, destination) {
    const answer = output.trim().split('\n').pop();
    if (answer === 'removed')
        return { removed: [`directory ${dir}`], leftovers: [], existed: true };
    if (answer === 'absent')
        return { removed: [], leftovers: [], existed: false };
    if (answer === 'trash-failed') {
        const trash = trashDirOf(node_path__WEBPACK_IMPORTED_MODULE_0__.posix.dirname(dir));
        const trashed = `${trash}/${node_path__WEBPACK_IMPORTED_MODULE_0__.posix.basename(dir)}.*`;
        return {
            removed: [],
            leftovers: [
                `directory ${trashed} on ${destination} (this sandbox's, removed earlier and waiting for deletion) could not be deleted; remove it with: sudo rm -rf ${(0,_ssh_quote_js__WEBPACK_IMPORTED_MODULE_2__/* .quote */ .hD)(trash)}/${(0,_ssh_quote_js__WEBPACK_IMPORTED_MODULE_2__/* .quote */ .hD)(node_path__WEBPACK_IMPORTED_MODULE_0__.posix.basename(dir))}.*`,
            ],
            existed: true,
        };
    }
    if (answer === 'rm-failed') {
        return {
            removed: [],
            leftovers: [
                `directory ${dir} on ${destination} could not be deleted completely (files owned by another user, e.g. root from a container?); remove it with: sudo rm -rf ${(0,_ssh_quote_js__WEBPACK_IMPORTED_MODULE_2__/* .quote */ .hD)(dir)}`,
            ],
            existed: true,
        };
    }
    return {
        removed: [],
        leftovers: [
            `directory ${dir} on ${destination} is not marked as this sandbox's (its ${MARKER_FILE} is missing or names another sandbox); not deleted — inspect and remove it by hand`,
        ],
        existed: true,
    };
}
/**
 * Creates `<base>/sbx-<id>/` with its marker (the marker's fields say whose it is and until when),
 * then arms the expiry switch (`armCommand`, see expiry-switch.ts) in the same round trip: from the
 * moment there is something to remove, it goes at its expiry even if this process dies.
 */
async function createWorkspace(session, base, dir, marker, armCommand) {
    await session.run((0,_ssh_quote_js__WEBPACK_IMPORTED_MODULE_2__/* .and */ .Uo)(createWorkspaceCommand(base, dir), armCommand), {
        stdin: markerContent(marker),
        what: 'creating the sandbox directory and arming its expiry switch',
    });
}
/** Removes the sandbox directory if it is ours (see removeWorkspaceCommand), as a report fragment. */
async function removeWorkspace(session, dir, sandboxId) {
    const answer = await session.run(removeWorkspaceCommand(dir, sandboxId), {
        what: 'removing the sandbox directory',
    });
    return workspaceRemoval(answer, dir, session.destination);
}
//# sourceMappingURL=workspace.js.map

/***/ })

};
;