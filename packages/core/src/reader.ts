/**
 * @sand-boxer/core/records — read-only access to a home's sandbox records, apart from the main entry
 * so that a command which only reads them (`sandboxer list`, `status`) loads this and the record
 * schema, not the catalog, manager, routing and SSH that the main entry brings (a bundler cannot
 * always leave those out: esbuild splits chunks by file, and the main entry reaches every file).
 * Everything here is also exported from the main entry.
 */

export { lastRenewal, leaseDeadline } from './records/lease.js';
export type { SandboxRecord, SandboxState } from './records/sandbox.js';
export { LIVE_STATES } from './records/sandbox-states.js';
export { type CreateTimings, describeTimings, phaseDurations } from './records/timings.js';
export { defaultHome } from './state/home.js';
export { getRecord, listRecords } from './state/lookup.js';
export { FileRecordReader, type RecordSource } from './state/record-files.js';
export { formatDuration } from './util/duration.js';
