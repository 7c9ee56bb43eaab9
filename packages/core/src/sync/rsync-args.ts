import { ConfigError } from '../errors.js';
/**
 * Pure builders for the rsync invocation, tested by table. rsync is run without a shell
 * (execFile), so only its own `-e` parsing needs care: it splits on spaces and honours single quotes.
 */

/** `.sandboxerignore` (gitignore: last match wins, `!` re-includes) as rsync filter rules (first match wins). */
export function rsyncFilterRules(patterns: ReadonlyArray<string>): string[] {
  return [...patterns].reverse().map((raw) => {
    const include = raw.startsWith('!');
    let pattern = include ? raw.slice(1) : raw;
    // gitignore anchors a pattern with a slash before its end to the repo root; rsync would match
    // it at any depth unless it starts with "/".
    const inner = pattern.replace(/\/$/, '');
    if (inner.includes('/') && !pattern.startsWith('/') && !pattern.startsWith('**/'))
      pattern = `/${pattern}`;
    return `${include ? '+' : '-'} ${pattern}`;
  });
}

/** Quotes one word for rsync's `-e` splitting; refuses what it cannot express. */
function rsyncWord(word: string): string {
  if (/^[A-Za-z0-9_/.,:=@%+-]+$/.test(word)) return word;
  if (word.includes("'") || /[\n\r\0]/.test(word))
    throw new ConfigError(
      `cannot pass ${JSON.stringify(word)} to rsync -e (a quote or newline in TMPDIR or RUNNER_TEMP?); use a plain temporary directory`,
    );
  return `'${word}'`;
}

export interface RsyncPlan {
  localDir: string;
  remoteDir: string;
  user: string;
  address: string;
  port: number;
  /** The private key file: the user's identity file, or a copy (mode 0600) in a private scratch directory. */
  keyFile: string;
  /** known_hosts file listing exactly the key the main connection verified. */
  knownHostsFile: string;
  filterFile: string;
  connectTimeoutSeconds: number;
  /** The remote rsync command line (run by the remote shell), e.g. under `flock` for the sync cache. */
  rsyncPath?: string;
  /** Delete what the filter excludes on the receiving side too (rsync keeps it otherwise). */
  deleteExcluded?: boolean;
}

/** The argv for `rsync`: archive mode, filters, stats for reporting, strict host-key checking. */
export function rsyncArgs(plan: RsyncPlan): string[] {
  const ssh = [
    'ssh',
    '-p',
    String(plan.port),
    '-i',
    plan.keyFile,
    '-o',
    'IdentitiesOnly=yes',
    '-o',
    'BatchMode=yes',
    '-o',
    'StrictHostKeyChecking=yes',
    '-o',
    `UserKnownHostsFile=${plan.knownHostsFile}`,
    '-o',
    'GlobalKnownHostsFile=/dev/null',
    '-o',
    `ConnectTimeout=${plan.connectTimeoutSeconds}`,
    '-F',
    '/dev/null',
  ]
    .map(rsyncWord)
    .join(' ');
  const address = plan.address.includes(':') ? `[${plan.address}]` : plan.address;
  return [
    '--archive',
    '--delete',
    ...(plan.deleteExcluded ? ['--delete-excluded'] : []),
    '--stats',
    // Remote paths are passed to the remote rsync as data, never through its shell.
    '--protect-args',
    '--timeout=60',
    `--filter=merge ${plan.filterFile}`,
    ...(plan.rsyncPath ? [`--rsync-path=${plan.rsyncPath}`] : []),
    '-e',
    ssh,
    '--',
    `${plan.localDir.replace(/\/?$/, '/')}`,
    `${plan.user}@${address}:${plan.remoteDir.replace(/\/?$/, '/')}`,
  ];
}

/** Reads files and bytes sent from `rsync --stats`. */
export function parseRsyncStats(output: string): { files: number; bytes: number } {
  const number = (label: string) =>
    Number((new RegExp(`${label}: ([\\d,.]+)`).exec(output)?.[1] ?? '0').replace(/[,.]/g, ''));
  // rsync before 3.1 says "Number of files transferred".
  return { files: number('Number of (?:regular )?files transferred'), bytes: number('Total bytes sent') };
}
