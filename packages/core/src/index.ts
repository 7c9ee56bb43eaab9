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
  defaultHostsFile,
  type HostFlags,
  loadHostsFile,
  type RemoteHost,
  resolveRemoteHost,
} from './hosts/resolve.js';
export { type HostEntry, type HostsFile, hostEntrySchema, hostsFileSchema } from './hosts/schema.js';
export type { GcFinding, GcOptions } from './manager/gc.js';
export { getRecord, listRecords } from './manager/lookup.js';
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
export type { RestoreOptions, SnapshotCreateOptions, SnapshotOperations } from './manager/snapshots.js';
export { type AccountBalance, accountOf, CreditsLedger, initialCreditsFromEnv } from './metering/ledger.js';
export { type LedgerEntry, ledgerEntrySchema } from './metering/ledger-schema.js';
export * from './metering/types.js';
export { normalizeProfileId } from './profiles/load.js';
export { type Profile, type ProfileDeclaration, profileDeclarationSchema } from './profiles/schema.js';
export { type CandidateReport, probeSsh, type RoutingDecision, RoutingResolver } from './routing/resolver.js';
export { isSnapshotId, newSnapshotId, parseSnapshotName } from './snapshots/ids.js';
export {
  type SnapshotLocation,
  type SnapshotRecord,
  snapshotLocationSchema,
  snapshotRecordSchema,
} from './snapshots/record.js';
export { fingerprintOf } from './ssh/known-hosts.js';
export { command, quote } from './ssh/quote.js';
export { type SessionOptions, SshSession, sshStats, withSession } from './ssh/session.js';
export { destination, parseDestination, type SshTarget } from './ssh/target.js';
export { FileStateStore } from './state/file-store.js';
export { defaultHome } from './state/home.js';
export { FileRecordReader, type RecordSource } from './state/record-files.js';
export type { LockOptions, StateStore } from './state/store.js';
export { stopRunningSyncs } from './sync/repo-sync.js';
export { formatDuration, parseDurationSeconds } from './util/duration.js';
export { isSandboxId, newSandboxId, parseSandboxId } from './util/ids.js';
