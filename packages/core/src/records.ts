/**
 * @sand-boxer/core/records — read-only access to a home's sandbox records, apart from the main entry
 * so that a command which only reads them (`sandboxer list`, `status`) loads this and the record
 * schema, not the catalog, manager, routing and SSH that the main entry brings (a bundler cannot
 * always leave those out: esbuild splits chunks by file, and the main entry reaches every file).
 * Everything here is also exported from the main entry.
 */
export { getRecord, listRecords } from './manager/lookup.js';
export type { SandboxRecord, SandboxState } from './manager/record.js';
export { LIVE_STATES } from './manager/states.js';
export { defaultHome } from './state/home.js';
export { FileRecordReader, type RecordSource } from './state/record-files.js';
