import { NotFoundError } from '../errors.js';
import type { SandboxRecord } from '../records/sandbox.js';
import { LIVE_STATES } from '../records/sandbox-states.js';
import { parseSandboxId } from '../util/ids.js';
import type { RecordSource } from './record-files.js';

/**
 * The manager's two read-only questions, over any record source. The manager answers them from its
 * store; `sandboxer list` and `status` ask them of a FileRecordReader without loading the manager,
 * and get the same answers because this is the one place they are written.
 */

/** The record of one sandbox, in whatever state it is; NotFoundError names where it looked. */
export async function getRecord(source: RecordSource, idText: string): Promise<SandboxRecord> {
  const id = parseSandboxId(idText);
  const record = await source.getSandbox(id);
  if (!record) {
    throw new NotFoundError(`no sandbox "${idText}" in ${source.location}`, { sandbox: idText });
  }
  return record;
}

/** Live sandboxes (those that may still hold resources), or with `all` every record, oldest first. */
export async function listRecords(
  source: RecordSource,
  options: { all?: boolean } = {},
): Promise<SandboxRecord[]> {
  const records = await source.listSandboxes();
  return options.all ? records : records.filter((r) => LIVE_STATES.has(r.state));
}
