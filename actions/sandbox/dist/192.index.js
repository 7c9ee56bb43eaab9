"use strict";
exports.id = 192;
exports.ids = [192];
exports.modules = {

/***/ 5192:
/***/ ((__unused_webpack___webpack_module__, __webpack_exports__, __webpack_require__) => {

__webpack_require__.r(__webpack_exports__);
/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   VmPackerExtension: () => (/* binding */ VmPackerExtension),
/* harmony export */   createVmPacker: () => (/* binding */ createVmPacker)
/* harmony export */ });
/* harmony import */ var node_path__WEBPACK_IMPORTED_MODULE_0__ = __webpack_require__(6760);
/* harmony import */ var zod__WEBPACK_IMPORTED_MODULE_14__ = __webpack_require__(8215);
/* harmony import */ var _errors_js__WEBPACK_IMPORTED_MODULE_1__ = __webpack_require__(1092);
/* harmony import */ var _ssh_quote_js__WEBPACK_IMPORTED_MODULE_2__ = __webpack_require__(5810);
/* harmony import */ var _ssh_target_js__WEBPACK_IMPORTED_MODULE_3__ = __webpack_require__(429);
/* harmony import */ var _sync_host_cache_js__WEBPACK_IMPORTED_MODULE_4__ = __webpack_require__(4946);
/* harmony import */ var _sync_ignore_rules_js__WEBPACK_IMPORTED_MODULE_5__ = __webpack_require__(9035);
/* harmony import */ var _inputs_js__WEBPACK_IMPORTED_MODULE_6__ = __webpack_require__(9309);
/* harmony import */ var _remote_workspace_channel_js__WEBPACK_IMPORTED_MODULE_7__ = __webpack_require__(5126);
/* harmony import */ var _remote_workspace_expiry_switch_js__WEBPACK_IMPORTED_MODULE_8__ = __webpack_require__(3359);
/* harmony import */ var _remote_workspace_host_resources_js__WEBPACK_IMPORTED_MODULE_9__ = __webpack_require__(1115);
/* harmony import */ var _remote_workspace_host_scan_js__WEBPACK_IMPORTED_MODULE_10__ = __webpack_require__(325);
/* harmony import */ var _remote_workspace_ssh_access_js__WEBPACK_IMPORTED_MODULE_11__ = __webpack_require__(1750);
/* harmony import */ var _remote_workspace_sync_js__WEBPACK_IMPORTED_MODULE_12__ = __webpack_require__(178);
/* harmony import */ var _remote_workspace_workspace_js__WEBPACK_IMPORTED_MODULE_13__ = __webpack_require__(1744);















const configSchema = zod__WEBPACK_IMPORTED_MODULE_14__/* .object */ .Ikc({
    workspace_dir: zod__WEBPACK_IMPORTED_MODULE_14__/* .string */ .YjP().default('/build'),
    internal_rate_per_minute: zod__WEBPACK_IMPORTED_MODULE_14__/* .number */ .aig().nonnegative().default(0),
});
const port = zod__WEBPACK_IMPORTED_MODULE_14__/* .string */ .YjP()
    .regex(/^\d{1,5}$/, 'must be a port number')
    .optional();
const inputsSchema = zod__WEBPACK_IMPORTED_MODULE_14__/* .looseObject */ ._H3({
    vm: zod__WEBPACK_IMPORTED_MODULE_14__/* .string */ .YjP().optional(),
    ssh_target: zod__WEBPACK_IMPORTED_MODULE_14__/* .string */ .YjP().optional(),
    ssh_port: port,
    tunnel_port: port,
    // Declared `local-path` (ext.vm-packer.yaml): core has made it absolute and checked it is a directory.
    repo: zod__WEBPACK_IMPORTED_MODULE_14__/* .string */ .YjP().refine(node_path__WEBPACK_IMPORTED_MODULE_0__.isAbsolute, 'must be an absolute path to a local directory').optional(),
    workspace_dir: zod__WEBPACK_IMPORTED_MODULE_14__/* .string */ .YjP().optional(),
    sync_method: zod__WEBPACK_IMPORTED_MODULE_14__/* ["enum"] */ .k5n(['auto', 'rsync', 'tar']).default('auto'),
});
/**
 * Attach mode on a pre-built VM: each sandbox is a workspace `<workspace_dir>/sbx-<id>/` (default
 * `/build`) with the repo synced in. The VM itself is never touched beyond that directory.
 */
class VmPackerExtension {
    id;
    hostKind = 'ssh';
    #config;
    #access;
    #sessions;
    constructor(context) {
        this.id = context.declaration.id;
        this.#config = (0,_inputs_js__WEBPACK_IMPORTED_MODULE_6__/* .parseExtensionConfig */ .b)(this.id, configSchema, context.declaration.config);
        this.#access = new _remote_workspace_ssh_access_js__WEBPACK_IMPORTED_MODULE_11__/* .SshAccess */ .$C(context);
        this.#sessions = new _remote_workspace_ssh_access_js__WEBPACK_IMPORTED_MODULE_11__/* .SessionPool */ .dE(this.#access);
    }
    /** The VM is named by `vm` (a hosts-file alias) or `ssh_target` (user@address[:port]). */
    hostFromInputs(inputs) {
        if (inputs.vm)
            return inputs.vm;
        if (!inputs.ssh_target)
            return undefined;
        return inputs.ssh_port && !/:\d+$/.test(inputs.ssh_target)
            ? `${inputs.ssh_target}:${inputs.ssh_port}`
            : inputs.ssh_target;
    }
    validateInputs(inputs) {
        const parsed = (0,_inputs_js__WEBPACK_IMPORTED_MODULE_6__/* .parseInputs */ .T)(this.id, inputsSchema, inputs);
        if (parsed.vm && parsed.ssh_target) {
            throw new _errors_js__WEBPACK_IMPORTED_MODULE_1__/* .InputError */ .dz(`${this.id}: give either input "vm" or input "ssh_target", not both`, {
                inputs: ['vm', 'ssh_target'],
            });
        }
        if (!parsed.vm && !parsed.ssh_target) {
            throw new _errors_js__WEBPACK_IMPORTED_MODULE_1__/* .InputError */ .dz(`${this.id}: input "vm" (a hosts-file alias) or "ssh_target" (user@address[:port]) is required`, { inputs: ['vm', 'ssh_target'] });
        }
        const dir = parsed.workspace_dir;
        if (dir !== undefined && dir !== '~' && !dir.startsWith('~/'))
            (0,_ssh_quote_js__WEBPACK_IMPORTED_MODULE_2__/* .assertAbsoluteRemotePath */ .nA)(dir, 'input "workspace_dir":');
        if (parsed.repo)
            (0,_sync_ignore_rules_js__WEBPACK_IMPORTED_MODULE_5__/* .loadRepoIgnore */ .ld)(parsed.repo); // a bad .sandboxerignore is refused before anything is made
        return parsed;
    }
    async provision(request) {
        const { sandboxId, progress, inputs } = request;
        const host = (0,_remote_workspace_ssh_access_js__WEBPACK_IMPORTED_MODULE_11__/* .remoteHostOf */ ._s)(request.host, this.id);
        progress?.(`connecting to ${host.name} (${(0,_ssh_target_js__WEBPACK_IMPORTED_MODULE_3__/* .destination */ .j_)(host.ssh)})`);
        const session = await this.#access.open(host.ssh);
        this.#sessions.keep(sandboxId, session);
        const base = await (0,_remote_workspace_workspace_js__WEBPACK_IMPORTED_MODULE_13__/* .resolveBaseDir */ .lM)(session, inputs.workspace_dir ?? this.#config.workspace_dir, 'workspace_dir');
        await (0,_remote_workspace_host_resources_js__WEBPACK_IMPORTED_MODULE_9__/* .checkFloors */ .sz)(session, host, base);
        request.phase?.('connected');
        const dir = (0,_remote_workspace_workspace_js__WEBPACK_IMPORTED_MODULE_13__/* .sandboxDirOf */ .YS)(base, sandboxId);
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
        const sync = inputs.repo ? (0,_remote_workspace_sync_js__WEBPACK_IMPORTED_MODULE_12__/* .startSync */ .u)(session, inputs.repo, inputs.sync_method, base) : undefined;
        // From here on the workspace goes at its expiry even if this process dies (expiry-switch.ts).
        await (0,_remote_workspace_workspace_js__WEBPACK_IMPORTED_MODULE_13__/* .createWorkspace */ .sK)(session, base, dir, {
            sandbox_id: sandboxId,
            extension: this.id,
            created_at: request.createdAt.toISOString(),
            expires_at: request.expiresAt.toISOString(),
        }, (0,_remote_workspace_expiry_switch_js__WEBPACK_IMPORTED_MODULE_8__/* .armSwitchCommand */ .yd)(base, sandboxId, request.expiresAt, (0,_remote_workspace_workspace_js__WEBPACK_IMPORTED_MODULE_13__/* .removeWorkspaceCommand */ .$e)(dir, sandboxId), request.leaseSeconds));
        let syncCache;
        if (inputs.repo && sync) {
            request.signal?.throwIfAborted();
            const synced = await (0,_remote_workspace_sync_js__WEBPACK_IMPORTED_MODULE_12__/* .syncWorkspace */ .x)(session, inputs.repo, dir, inputs.sync_method, progress, sync);
            if (synced.fill === 'copy')
                syncCache = sync.cacheDir;
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
    async waitReady(raw, _options = {}) {
        const handle = raw;
        const host = (0,_remote_workspace_ssh_access_js__WEBPACK_IMPORTED_MODULE_11__/* .hostOfHandle */ .wn)(handle, this.id);
        const session = await this.#sessions.take(handle.sandbox_id, host.ssh);
        try {
            await session.run((0,_ssh_quote_js__WEBPACK_IMPORTED_MODULE_2__/* .command */ .G5)('test', '-d', handle.remote_dir), {
                what: `checking workspace ${handle.remote_dir}`,
            });
            return {
                host: host.name,
                ssh: `ssh://${(0,_ssh_target_js__WEBPACK_IMPORTED_MODULE_3__/* .destination */ .j_)(host.ssh)}`,
                remote_dir: handle.remote_dir,
                ...(handle.tunnel_port ? { endpoints: { tunnel: `${host.ssh.address}:${handle.tunnel_port}` } } : {}),
            };
        }
        finally {
            session.close();
        }
    }
    /** Removes the workspace only; the VM and everything else on it stay. */
    async teardown(raw, options = {}) {
        const handle = raw;
        const host = (0,_remote_workspace_ssh_access_js__WEBPACK_IMPORTED_MODULE_11__/* .hostOfHandle */ .wn)(handle, this.id);
        const session = await this.#sessions.take(handle.sandbox_id, host.ssh);
        try {
            const base = await this.#baseOf(session, handle);
            const dir = (0,_remote_workspace_workspace_js__WEBPACK_IMPORTED_MODULE_13__/* .sandboxDirOf */ .YS)(base, handle.sandbox_id);
            options.progress?.(`removing workspace ${dir} (the VM stays)`);
            const result = await (0,_remote_workspace_workspace_js__WEBPACK_IMPORTED_MODULE_13__/* .removeWorkspace */ .qh)(session, dir, handle.sandbox_id);
            if (result.leftovers.length === 0) {
                const spare = (0,_sync_host_cache_js__WEBPACK_IMPORTED_MODULE_4__/* .nextSpareCommand */ .AT)(base, handle.sync_cache);
                await session.run(`${(0,_remote_workspace_expiry_switch_js__WEBPACK_IMPORTED_MODULE_8__/* .disarmSwitchCommand */ .eK)(base, handle.sandbox_id)}${spare ? `; ${spare}` : ''}`, {
                    what: 'disarming the expiry switch',
                });
            }
            return { removed: result.removed, leftovers: result.leftovers, already_gone: !result.existed };
        }
        finally {
            session.close();
        }
    }
    /** Moves the host-side switch (extend); false if it already fired there. */
    async reschedule(raw, expiresAt) {
        const handle = raw;
        const host = (0,_remote_workspace_ssh_access_js__WEBPACK_IMPORTED_MODULE_11__/* .hostOfHandle */ .wn)(handle, this.id);
        return this.#access.with(host.ssh, async (session) => {
            const base = await this.#baseOf(session, handle);
            const answer = await session.run((0,_remote_workspace_expiry_switch_js__WEBPACK_IMPORTED_MODULE_8__/* .rescheduleSwitchCommand */ .Sr)(base, handle.sandbox_id, expiresAt), {
                what: 'moving the expiry switch',
            });
            return answer.trim() === 'moved';
        });
    }
    /** Renews the lease on the host-side switch; false once the workspace is gone there. */
    async renewLease(raw) {
        return this.#access.with((0,_remote_workspace_ssh_access_js__WEBPACK_IMPORTED_MODULE_11__/* .hostOfHandle */ .wn)(raw, this.id).ssh, (session) => this.#renew(session, raw));
    }
    async #renew(session, raw) {
        const handle = raw;
        return (0,_remote_workspace_expiry_switch_js__WEBPACK_IMPORTED_MODULE_8__/* .renewLeaseOver */ .os)(session, await this.#baseOf(session, handle), handle.sandbox_id);
    }
    checkAccess(target) {
        this.#access.checkAccess((0,_remote_workspace_ssh_access_js__WEBPACK_IMPORTED_MODULE_11__/* .remoteHostOf */ ._s)(target, this.id).ssh);
    }
    async probeHost(target) {
        const host = (0,_remote_workspace_ssh_access_js__WEBPACK_IMPORTED_MODULE_11__/* .remoteHostOf */ ._s)(target, this.id);
        return this.#access.with(host.ssh, async (session) => (0,_remote_workspace_host_resources_js__WEBPACK_IMPORTED_MODULE_9__/* .probeResources */ .yV)(session, await (0,_remote_workspace_workspace_js__WEBPACK_IMPORTED_MODULE_13__/* .resolveBaseDir */ .lM)(session, this.#config.workspace_dir, 'workspace_dir')));
    }
    /** Workspaces and armed switches under the configured workspace directory (the VM itself is not ours). */
    async findSandboxes(target) {
        const host = (0,_remote_workspace_ssh_access_js__WEBPACK_IMPORTED_MODULE_11__/* .remoteHostOf */ ._s)(target, this.id);
        return this.#access.with(host.ssh, async (session) => {
            const base = await (0,_remote_workspace_workspace_js__WEBPACK_IMPORTED_MODULE_13__/* .resolveBaseDir */ .lM)(session, this.#config.workspace_dir, 'workspace_dir');
            const output = await session.run((0,_remote_workspace_host_scan_js__WEBPACK_IMPORTED_MODULE_10__/* .findSandboxesCommand */ .i)(base, undefined), {
                what: 'looking for workspaces',
            });
            return (0,_remote_workspace_host_scan_js__WEBPACK_IMPORTED_MODULE_10__/* .parseFindings */ .S)(output, base);
        });
    }
    /** The VM and the workspace, for ssh(1). */
    async loginTarget(raw) {
        const handle = raw;
        return this.#access.loginTarget((0,_remote_workspace_ssh_access_js__WEBPACK_IMPORTED_MODULE_11__/* .hostOfHandle */ .wn)(handle, this.id).ssh, handle.remote_dir ?? '.');
    }
    /** One SSH connection to the VM: streams to any port it sees (e.g. its `tunnel_port`). */
    async openChannel(raw) {
        const session = await this.#access.open((0,_remote_workspace_ssh_access_js__WEBPACK_IMPORTED_MODULE_11__/* .hostOfHandle */ .wn)(raw, this.id).ssh);
        return new _remote_workspace_channel_js__WEBPACK_IMPORTED_MODULE_7__/* .SshChannel */ .cb(session, (over) => this.#renew(over, raw));
    }
    /** A command in the workspace on the VM (a VM has no services: `service` is refused). */
    async exec(raw, request) {
        if (request.service) {
            throw new _errors_js__WEBPACK_IMPORTED_MODULE_1__/* .InputError */ .dz(`service: ${this.id} runs no services; run the command in the workspace`, {
                field: 'service',
            });
        }
        const handle = raw;
        const host = (0,_remote_workspace_ssh_access_js__WEBPACK_IMPORTED_MODULE_11__/* .hostOfHandle */ .wn)(handle, this.id);
        return this.#access.with(host.ssh, async (session) => {
            const dir = handle.remote_dir ?? (0,_remote_workspace_workspace_js__WEBPACK_IMPORTED_MODULE_13__/* .sandboxDirOf */ .YS)(await this.#baseOf(session, handle), handle.sandbox_id);
            return (0,_remote_workspace_channel_js__WEBPACK_IMPORTED_MODULE_7__/* .execOnHost */ .nq)(session, (0,_remote_workspace_channel_js__WEBPACK_IMPORTED_MODULE_7__/* .workspaceExecCommand */ .yS)(dir, request.argv), request);
        });
    }
    async #baseOf(session, handle) {
        return typeof handle.workspace_base === 'string'
            ? handle.workspace_base
            : (0,_remote_workspace_workspace_js__WEBPACK_IMPORTED_MODULE_13__/* .resolveBaseDir */ .lM)(session, this.#config.workspace_dir, 'workspace_dir');
    }
}
const createVmPacker = (context) => new VmPackerExtension(context);
//# sourceMappingURL=vm-packer.js.map

/***/ })

};
;