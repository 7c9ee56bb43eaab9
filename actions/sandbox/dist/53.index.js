"use strict";
exports.id = 53;
exports.ids = [53];
exports.modules = {

/***/ 7053:
/***/ ((__unused_webpack___webpack_module__, __webpack_exports__, __webpack_require__) => {

__webpack_require__.r(__webpack_exports__);
/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   SaasStubExtension: () => (/* binding */ SaasStubExtension),
/* harmony export */   createSaasStub: () => (/* binding */ createSaasStub)
/* harmony export */ });
/* harmony import */ var node_child_process__WEBPACK_IMPORTED_MODULE_0__ = __webpack_require__(1421);
/* harmony import */ var node_fs_promises__WEBPACK_IMPORTED_MODULE_1__ = __webpack_require__(1455);
/* harmony import */ var node_net__WEBPACK_IMPORTED_MODULE_2__ = __webpack_require__(7030);
/* harmony import */ var node_path__WEBPACK_IMPORTED_MODULE_3__ = __webpack_require__(6760);
/* harmony import */ var zod__WEBPACK_IMPORTED_MODULE_9__ = __webpack_require__(8215);
/* harmony import */ var _errors_js__WEBPACK_IMPORTED_MODULE_4__ = __webpack_require__(1092);
/* harmony import */ var _sync_ignore_rules_js__WEBPACK_IMPORTED_MODULE_5__ = __webpack_require__(9035);
/* harmony import */ var _util_ids_js__WEBPACK_IMPORTED_MODULE_6__ = __webpack_require__(5310);
/* harmony import */ var _util_sha256_file_js__WEBPACK_IMPORTED_MODULE_7__ = __webpack_require__(1364);
/* harmony import */ var _inputs_js__WEBPACK_IMPORTED_MODULE_8__ = __webpack_require__(9309);










const configSchema = zod__WEBPACK_IMPORTED_MODULE_9__/* .object */ .Ikc({
    rate_per_minute: zod__WEBPACK_IMPORTED_MODULE_9__/* .number */ .aig().nonnegative().default(0.5),
    minimum_minutes: zod__WEBPACK_IMPORTED_MODULE_9__/* .number */ .aig().int().nonnegative().default(1),
    workspace_root: zod__WEBPACK_IMPORTED_MODULE_9__/* .string */ .YjP().default(''),
    /** Credits per GB (started hundredth of a credit at least) to keep a snapshot, charged when it is taken. */
    snapshot_rate_per_gb: zod__WEBPACK_IMPORTED_MODULE_9__/* .number */ .aig().nonnegative().default(1),
});
const inputsSchema = zod__WEBPACK_IMPORTED_MODULE_9__/* .looseObject */ ._H3({
    // Declared `local-path` (ext.saas-stub.yaml): core has made it absolute and checked it is a directory.
    repo: zod__WEBPACK_IMPORTED_MODULE_9__/* .string */ .YjP().refine(node_path__WEBPACK_IMPORTED_MODULE_3__.isAbsolute, 'must be an absolute path to a local directory'),
});
/**
 * A metered backend with no external API. Each sandbox is a directory `<root>/sbx-<id>/` with the
 * `repo` input copied in (without `.git`, `node_modules` and what `.sandboxerignore` lists).
 * Billing: `rate_per_minute` per started minute, at least `minimum_minutes`.
 */
class SaasStubExtension {
    id;
    hostKind = 'local';
    #config;
    #root;
    constructor(context) {
        this.id = context.declaration.id;
        this.#config = (0,_inputs_js__WEBPACK_IMPORTED_MODULE_8__/* .parseExtensionConfig */ .b)(this.id, configSchema, context.declaration.config);
        this.#root = this.#config.workspace_root
            ? (0,node_path__WEBPACK_IMPORTED_MODULE_3__.resolve)(context.baseDir, this.#config.workspace_root)
            : (0,node_path__WEBPACK_IMPORTED_MODULE_3__.join)(context.home, 'saas-stub');
    }
    /** The repo to copy; a restore takes its workspace from the snapshot and needs none. */
    validateInputs(inputs, options = {}) {
        if (options.restore)
            return {};
        const { repo } = (0,_inputs_js__WEBPACK_IMPORTED_MODULE_8__/* .parseInputs */ .T)(this.id, inputsSchema, inputs);
        (0,_sync_ignore_rules_js__WEBPACK_IMPORTED_MODULE_5__/* .loadRepoIgnore */ .ld)(repo); // a bad .sandboxerignore is refused before anything is made
        return { repo };
    }
    async provision(request) {
        const { repo } = request.inputs;
        if (repo === undefined)
            throw new _errors_js__WEBPACK_IMPORTED_MODULE_4__/* .InputError */ .dz(`${this.id}: input "repo": is required`, { inputs: ['repo'] });
        const workspace = this.#workspaceOf(request.sandboxId);
        request.progress?.(`copying ${repo} into ${workspace}`);
        await (0,node_fs_promises__WEBPACK_IMPORTED_MODULE_1__.mkdir)(this.#root, { recursive: true });
        // `mkdir` without recursive fails if the directory exists: a sandbox id is never reused.
        await (0,node_fs_promises__WEBPACK_IMPORTED_MODULE_1__.mkdir)(workspace);
        const rules = (0,_sync_ignore_rules_js__WEBPACK_IMPORTED_MODULE_5__/* .loadRepoIgnore */ .ld)(repo);
        await (0,node_fs_promises__WEBPACK_IMPORTED_MODULE_1__.cp)(repo, workspace, {
            recursive: true,
            filter: (source) => !rules.ignores(source),
            errorOnExist: true,
            force: false,
        });
        request.phase?.('synced');
        return { sandbox_id: request.sandboxId, host: 'local', workspace };
    }
    async waitReady(handle) {
        const workspace = this.#workspaceOfHandle(handle);
        const info = await (0,node_fs_promises__WEBPACK_IMPORTED_MODULE_1__.stat)(workspace).catch(() => undefined);
        if (!info?.isDirectory())
            throw new Error(`workspace ${workspace} is missing`);
        return { host: 'local', remote_dir: workspace };
    }
    async teardown(handle) {
        const workspace = this.#workspaceOfHandle(handle);
        const exists = await (0,node_fs_promises__WEBPACK_IMPORTED_MODULE_1__.stat)(workspace).catch(() => undefined);
        if (!exists)
            return { removed: [], leftovers: [], already_gone: true };
        await (0,node_fs_promises__WEBPACK_IMPORTED_MODULE_1__.rm)(workspace, { recursive: true, force: true });
        return { removed: [workspace], leftovers: [], already_gone: false };
    }
    /** A command in the workspace, on this machine (no shell: argv as it is). */
    async exec(handle, request) {
        if (request.service) {
            throw new _errors_js__WEBPACK_IMPORTED_MODULE_4__/* .InputError */ .dz(`service: ${this.id} runs no services; run the command in the workspace`, {
                field: 'service',
            });
        }
        const [file, ...args] = request.argv;
        if (!file)
            throw new _errors_js__WEBPACK_IMPORTED_MODULE_4__/* .InputError */ .dz('nothing to run: give a command', { field: 'command' });
        const child = (0,node_child_process__WEBPACK_IMPORTED_MODULE_0__.spawn)(file, args, {
            cwd: this.#workspaceOfHandle(handle),
            stdio: [request.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'],
            ...(request.signal ? { signal: request.signal } : {}),
        });
        if (request.stdin && child.stdin)
            request.stdin.pipe(child.stdin);
        child.stdout?.on('data', request.stdout);
        child.stderr?.on('data', request.stderr);
        return new Promise((resolve, reject) => {
            child.on('error', (error) => error.code === 'ENOENT' ? resolve(127) : error.name === 'AbortError' ? resolve(255) : reject(error));
            child.on('close', (code) => resolve(code ?? 255));
        });
    }
    /** Streams to this machine's ports (the stub runs no services of its own). */
    async openChannel() {
        return localChannel();
    }
    /** A tar of the workspace, written to the local store (nothing runs in it, so nothing to pause). */
    async snapshot(handle, request) {
        const workspace = this.#workspaceOfHandle(handle);
        const partial = `${request.localPath}.partial`;
        await (0,node_fs_promises__WEBPACK_IMPORTED_MODULE_1__.mkdir)((0,node_path__WEBPACK_IMPORTED_MODULE_3__.dirname)(request.localPath), { recursive: true, mode: 0o700 });
        request.progress?.(`capturing ${workspace}`);
        const { create } = await __webpack_require__.e(/* import() */ 274).then(__webpack_require__.bind(__webpack_require__, 4274));
        try {
            await create({ cwd: workspace, file: partial, portable: true }, ['.']);
            await (0,node_fs_promises__WEBPACK_IMPORTED_MODULE_1__.rename)(partial, request.localPath);
        }
        catch (error) {
            await (0,node_fs_promises__WEBPACK_IMPORTED_MODULE_1__.rm)(partial, { force: true });
            throw error;
        }
        const location = { kind: 'local', path: request.localPath };
        return {
            location,
            size_bytes: (await (0,node_fs_promises__WEBPACK_IMPORTED_MODULE_1__.stat)(request.localPath)).size,
            sha256: await (0,_util_sha256_file_js__WEBPACK_IMPORTED_MODULE_7__/* .sha256File */ .Q)(request.localPath),
            contents: { workspace: true, volumes: [] },
            consistency: 'none',
            paused_ms: 0,
            inputs: {},
        };
    }
    /** Unpacks the (already verified) local artifact into a new workspace, or over the sandbox's own. */
    async restore(source, target) {
        const file = source.localPath;
        if (!file)
            throw new _errors_js__WEBPACK_IMPORTED_MODULE_4__/* .InputError */ .dz(`${this.id}: snapshot ${source.snapshot.id} has no local copy to restore from`);
        const { extract } = await __webpack_require__.e(/* import() */ 274).then(__webpack_require__.bind(__webpack_require__, 4274));
        if (target.mode === 'new') {
            const workspace = this.#workspaceOf(target.request.sandboxId);
            await (0,node_fs_promises__WEBPACK_IMPORTED_MODULE_1__.mkdir)(this.#root, { recursive: true });
            await (0,node_fs_promises__WEBPACK_IMPORTED_MODULE_1__.mkdir)(workspace);
            await extract({ cwd: workspace, file, strict: true });
            return { sandbox_id: target.request.sandboxId, host: 'local', workspace };
        }
        const workspace = this.#workspaceOfHandle(target.handle);
        for (const entry of await (0,node_fs_promises__WEBPACK_IMPORTED_MODULE_1__.readdir)(workspace))
            await (0,node_fs_promises__WEBPACK_IMPORTED_MODULE_1__.rm)((0,node_path__WEBPACK_IMPORTED_MODULE_3__.join)(workspace, entry), { recursive: true, force: true });
        await extract({ cwd: workspace, file, strict: true });
        return target.handle;
    }
    snapshotCost(sizeBytes) {
        const rate = this.#config.snapshot_rate_per_gb;
        const credits = rate === 0 ? 0 : Math.max(0.01, Math.ceil((sizeBytes / 1e9) * rate * 100) / 100);
        return { credits, breakdown: { storage: credits } };
    }
    estimateCost(_profile, durationSeconds) {
        const minutes = this.#billableMinutes(durationSeconds);
        const credits = roundCredits(minutes * this.#config.rate_per_minute);
        return { credits, rate: this.#config.rate_per_minute, unit: 'minute', breakdown: { compute: credits } };
    }
    meterActual(_handle, usage) {
        const duration = Math.max(0, (usage.destroyedAt.getTime() - usage.createdAt.getTime()) / 1000);
        const credits = roundCredits(this.#billableMinutes(duration) * this.#config.rate_per_minute);
        return { credits, duration, breakdown: { compute: credits } };
    }
    /** Started minutes, never fewer than the minimum. */
    #billableMinutes(seconds) {
        return Math.max(this.#config.minimum_minutes, Math.ceil(seconds / 60));
    }
    /**
     * Where the handle says the workspace is (another process may have another $SANDBOXER_HOME, as
     * the action's post step does), accepted only if it is an absolute `…/sbx-<id>` for this sandbox;
     * from a minimal handle, the workspace under this process's root.
     */
    #workspaceOfHandle(handle) {
        const fallback = this.#workspaceOf(handle.sandbox_id);
        const given = handle.workspace;
        if (typeof given !== 'string')
            return fallback;
        if (!(0,node_path__WEBPACK_IMPORTED_MODULE_3__.isAbsolute)(given) || (0,node_path__WEBPACK_IMPORTED_MODULE_3__.normalize)(given) !== given || (0,node_path__WEBPACK_IMPORTED_MODULE_3__.basename)(given) !== `sbx-${handle.sandbox_id}`) {
            throw new _errors_js__WEBPACK_IMPORTED_MODULE_4__/* .InputError */ .dz(`${this.id}: refusing workspace ${JSON.stringify(given)}: not this sandbox's directory`);
        }
        return given;
    }
    /** The only path this extension ever writes or deletes; the id check keeps it inside the root. */
    #workspaceOf(sandboxId) {
        if (!(0,_util_ids_js__WEBPACK_IMPORTED_MODULE_6__/* .isSandboxId */ .rN)(sandboxId))
            throw new _errors_js__WEBPACK_IMPORTED_MODULE_4__/* .InputError */ .dz(`${this.id}: refusing unexpected sandbox id "${sandboxId}"`);
        return (0,node_path__WEBPACK_IMPORTED_MODULE_3__.join)(this.#root, `sbx-${sandboxId}`);
    }
}
/** A SandboxChannel on this machine: plain TCP connections. */
function localChannel() {
    return {
        alive: true,
        close() { },
        connect: (host, port) => new Promise((resolve, reject) => {
            const socket = (0,node_net__WEBPACK_IMPORTED_MODULE_2__.connect)({ host, port });
            socket.once('connect', () => resolve(socket));
            socket.once('error', reject);
        }),
    };
}
/** Credits are kept to two decimals (cents) so sums in the ledger stay exact enough. */
function roundCredits(value) {
    return Math.round(value * 100) / 100;
}
const createSaasStub = (context) => new SaasStubExtension(context);
//# sourceMappingURL=saas-stub.js.map

/***/ })

};
;