import { InputError } from '@sand-boxer/core/errors';
import { listRecords } from '@sand-boxer/core/records';
import { isSandboxState, SANDBOX_STATES, type SandboxStateName } from '../cli-options.js';
import type { ContextOptions } from '../context.js';
import { formatTable, type OutputOptions, printJson, printLine, relativeTime } from '../output.js';
import { openRecords, serverOf } from '../records.js';

export interface ListOptions extends OutputOptions, ContextOptions {
  all?: boolean;
  /** `--state <state>` (set aside by the global --state option's parser, see cli.ts). */
  stateFilter?: string;
  profile?: string;
  consumer?: string;
}

/**
 * `sandboxer list [--all] [--state S] [--profile P] [--consumer C] [-q]`: live sandboxes, or every
 * one the store remembers, filtered; `-q` prints only their ids.
 */
export async function list(options: ListOptions): Promise<void> {
  const state = options.stateFilter === undefined ? undefined : parseState(options.stateFilter);
  // An ended state is only among all records.
  const all = options.all || (state !== undefined && !LIVE.includes(state));
  // The same answer as manager.list(), without loading the manager (see records.ts).
  const listed = options.server
    ? await (await serverOf(options)).list({ all })
    : await listRecords(await openRecords(options), { all });
  const profile = options.profile?.replace(/^(profile\.)?/, 'profile.');
  const records = listed.filter(
    (r) =>
      (state === undefined || r.state === state) &&
      (profile === undefined || r.profile === profile) &&
      (options.consumer === undefined || r.consumer === options.consumer),
  );
  if (options.json) return printJson(records);
  if (options.quiet) {
    for (const r of records) printLine(r.id);
    return;
  }
  if (records.length === 0) {
    const filtered = state !== undefined || profile !== undefined || options.consumer !== undefined;
    printLine(
      filtered
        ? 'no sandboxes match'
        : options.all
          ? 'no sandboxes'
          : 'no live sandboxes (`sandboxer list --all` shows ended ones)',
    );
    return;
  }
  const now = Date.now();
  const rows = records.map((r) => [
    r.id,
    r.state,
    r.profile,
    r.host,
    r.consumer,
    relativeTime(r.created_at, now),
    r.state === 'destroyed' || r.state === 'failed' ? '-' : relativeTime(r.expires_at, now),
  ]);
  printLine(formatTable(['ID', 'STATE', 'PROFILE', 'HOST', 'CONSUMER', 'CREATED', 'EXPIRES'], rows));
}

const LIVE: readonly string[] = ['provisioning', 'ready', 'destroying'];

function parseState(text: string): SandboxStateName {
  if (!isSandboxState(text)) {
    throw new InputError(`--state ${JSON.stringify(text)}: expected one of ${SANDBOX_STATES.join(', ')}`, {
      field: 'state',
    });
  }
  return text;
}
