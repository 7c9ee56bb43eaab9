/**
 * @sand-boxer/core — the public API. Everything else is internal and may change.
 * Surfaces open a manager with `openManager`; extension authors implement `SandboxExtension`
 * (docs/extension-sdk.md) and check it with `@sand-boxer/core/conformance`.
 */
export { Catalog, type CatalogOptions, defaultUserDirs, loadCatalog } from './catalog/catalog.js';
export {
  type ExtensionDeclaration,
  extensionDeclarationSchema,
  type InputKind,
  type IsolationLevel,
  type PricingModel,
} from './declarations/extension-schema.js';
export {
  type HostEntry,
  type HostsFile,
  hostEntrySchema,
  hostsFileSchema,
} from './declarations/hosts-schema.js';
export { normalizeProfileId } from './declarations/parse-profile.js';
export {
  type Profile,
  type ProfileDeclaration,
  profileDeclarationSchema,
} from './declarations/profile-schema.js';
export { type DeclarationSource, MAX_DECLARATION_BYTES } from './declarations/read.js';
export * from './errors.js';
export { builtinHandlerNames } from './extensions/builtin/index.js';
export * from './extensions/contract.js';
export { parseExtensionConfig, parseInputs } from './extensions/inputs.js';
export { type ReapedSandbox, Reaper, type ReaperOptions } from './gc/reaper.js';
export type { GcFinding, GcOptions } from './gc/types.js';
export { type HostDirectory, hostsFromFile, localOnly } from './hosts/directory.js';
export type { HostsOverview, HostView, PoolView } from './hosts/overview.js';
export { defaultHostsFile, type HostFlags, loadHostsFile, resolveRemoteHost } from './hosts/resolve.js';
export { SandboxManager } from './manager/manager.js';
export type {
  CreditsService,
  EstimateReport,
  HostService,
  RouteReport,
  SandboxService,
  SnapshotService,
} from './manager/service.js';
export type {
  CreateOptions,
  CreateRequest,
  DestroyOptions,
  InputPolicy,
  ManagerOptions,
} from './manager/types.js';
export { accountOf } from './metering/accounts.js';
export type { AccountBalance } from './metering/balance.js';
export {
  BILLING_COLUMNS,
  type BillingFormat,
  type BillingQuery,
  type BillingRow,
  billingRows,
  formatBilling,
} from './metering/billing-export.js';
export { CreditsLedger, type HoldRef } from './metering/ledger.js';
export {
  type EnvironmentSettings,
  type OpenManagerOptions,
  openManager,
  settingsFromEnvironment,
} from './open-manager.js';
export { parseCheck, type ReadinessCheck } from './reach/checks.js';
export { HostConnection } from './reach/connection.js';
export { PortForwarder } from './reach/forwarder.js';
export { type KeeperHost, type Keeping, type KeepOptions, keep } from './reach/keep.js';
export {
  announceKeeper,
  KEEPER_MARK,
  type KeeperAnnouncement,
  keeperAlive,
  type SpawnKeeperOptions,
  spawnKeeper,
  stopKeeper,
} from './reach/keeper-process.js';
export { type LogLines, logLines } from './reach/log-lines.js';
export { type LoginFiles, sshArgs, writeLoginFiles } from './reach/login.js';
export { type PortTarget, resolveTargets } from './reach/targets.js';
export * from './records/handle.js';
export { type HostStatus, hostStatusSchema, isHostAlias } from './records/host-status.js';
export type { HostTarget, RemoteHost, SshTarget } from './records/host-target.js';
export { lastRenewal, leaseDeadline, leaseLapsed } from './records/lease.js';
export { type LedgerEntry, ledgerEntrySchema } from './records/ledger-entry.js';
export * from './records/metering.js';
export {
  type Keeper,
  LIVE_STATES,
  type SandboxRecord,
  type SandboxState,
  sandboxRecordSchema,
} from './records/sandbox.js';
export {
  type SnapshotLocation,
  type SnapshotRecord,
  snapshotLocationSchema,
  snapshotRecordSchema,
} from './records/snapshot.js';
export {
  CREATE_PHASES,
  type CreatePhase,
  type CreateTimings,
  describeTimings,
  phaseDurations,
} from './records/timings.js';
export { probeSsh } from './routing/probe.js';
export { type CandidateReport, type RoutingDecision, RoutingResolver } from './routing/resolver.js';
export type { SnapshotOperations } from './snapshots/operations.js';
export type { RestoreOptions, SnapshotCreateOptions } from './snapshots/types.js';
export { fingerprintOf } from './ssh/known-hosts.js';
export { command, quote } from './ssh/quote.js';
export { type SessionOptions, SshSession, sshStats, withSession } from './ssh/session.js';
export { TailBuffer } from './ssh/tail-buffer.js';
export { destination, parseDestination } from './ssh/target.js';
export { FileStateStore } from './state/file-store.js';
export { defaultHome } from './state/home.js';
export { getRecord, listRecords } from './state/lookup.js';
export { openStateStore } from './state/open-store.js';
export { isPostgresUrl, redactUrl } from './state/postgres/connection.js';
export type { Migration } from './state/postgres/migrations.js';
export { PostgresStateStore, type PostgresStoreOptions } from './state/postgres/postgres-store.js';
export { FileRecordReader, type RecordSource } from './state/record-files.js';
export type { LedgerChange, LockOptions, StateStore } from './state/store.js';
export { stopRunningSyncs } from './sync/sync-repo.js';
export { formatDuration, parseDurationSeconds } from './util/duration.js';
export { isSandboxId, newSandboxId, parseSandboxId } from './util/ids.js';
export { formatBytes, parseSizeBytes, sizeSchema } from './util/size.js';
export { isSnapshotId, newSnapshotId, parseSnapshotName } from './util/snapshot-ids.js';
export { closestName, didYouMean } from './util/suggest.js';
