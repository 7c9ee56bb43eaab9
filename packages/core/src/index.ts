/**
 * @sand-boxer/core — the public API. Everything else is internal and may change.
 */
export { Catalog, type CatalogOptions, defaultUserDirs, loadCatalog } from './declarations/catalog.js';
export { type DeclarationSource, MAX_DECLARATION_BYTES } from './declarations/read.js';
export * from './errors.js';
export { builtinHandlerNames } from './extensions/builtin/index.js';
export * from './extensions/contract.js';
export { parseInputs } from './extensions/inputs.js';
export {
  type ExtensionDeclaration,
  extensionDeclarationSchema,
  type IsolationLevel,
  type PricingModel,
} from './extensions/schema.js';
export {
  type CreateRequest,
  type HostResolver,
  type ManagerOptions,
  SandboxManager,
} from './manager/manager.js';
export {
  LIVE_STATES,
  type SandboxRecord,
  type SandboxState,
  sandboxRecordSchema,
} from './manager/record.js';
export * from './metering/types.js';
export { normalizeProfileId } from './profiles/load.js';
export { type Profile, type ProfileDeclaration, profileDeclarationSchema } from './profiles/schema.js';
export { defaultHome, FileStateStore } from './state/file-store.js';
export type { LockOptions, StateStore } from './state/store.js';
export { formatDuration, parseDurationSeconds } from './util/duration.js';
export { isSandboxId, newSandboxId, parseSandboxId } from './util/ids.js';
