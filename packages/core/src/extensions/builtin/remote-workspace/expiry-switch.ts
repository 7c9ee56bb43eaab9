import { InputError } from '../../../errors.js';
import { command, quote, remotePathInside } from '../../../ssh/quote.js';
import type { SshSession } from '../../../ssh/session.js';
import { isSandboxId } from '../../../util/ids.js';

/**
 * The host-side dead-man's switch: when an SSH extension makes a sandbox, it leaves on the host a
 * detached sleeper that tears the sandbox down at its expiry unless it was destroyed (or extended)
 * first — so a sandbox whose creator vanished still disappears, with no central service running.
 *
 * Why a sleeper and not `systemd-run`/`at`: neither is available to an unprivileged SSH user on every
 * host (containers run no systemd; `at` is rarely installed). A `setsid nohup sh` survives the SSH
 * session on any POSIX host. Its state is two files under `<base>/.sandboxer-switch/`:
 *  - `<id>.expires`: the expiry in Unix seconds. `extend` rewrites it; teardown deletes it.
 *  - `<id>.pid`: the sleeper's process group, so teardown can stop it at once.
 *  - `<id>.lease` (with a lease only): the lease in seconds; its modification time is the last
 *    renewal (`touch`). The sandbox is torn down when the lease has not been renewed for that long,
 *    or at its expiry, whichever comes first.
 * The sleeper wakes at least once a minute (every LEASE_POLL_SECONDS with a lease), so a rewritten
 * expiry is seen within a minute and a deleted one ends it. When it fires it runs the extension's
 * reap command and logs one line to `<base>/.sandboxer-switch/reaped.log`, saying whether the lease
 * lapsed or the sandbox expired.
 */

/** Pure builders, tested by table and run for real in a local shell. */
export function switchDirOf(base: string): string {
  return remotePathInside(base, '.sandboxer-switch');
}

function files(base: string, sandboxId: string) {
  if (!isSandboxId(sandboxId))
    throw new InputError(`refusing unexpected sandbox id ${JSON.stringify(sandboxId)}`);
  const dir = switchDirOf(base);
  return {
    dir,
    expires: `${dir}/${sandboxId}.expires`,
    pid: `${dir}/${sandboxId}.pid`,
    lease: `${dir}/${sandboxId}.lease`,
    log: `${dir}/reaped.log`,
  };
}

/** How often the sleeper looks at its expiry file at most (seconds). */
export const SWITCH_POLL_SECONDS = 60;
/** … and at its lease, so that a lapsed lease ends the sandbox within this many seconds. */
export const LEASE_POLL_SECONDS = 5;

/**
 * The sleeper's script. `reap` is a command built from quoted parts by the extension (stop the
 * stack, remove the workspace); it runs only once the expiry has passed and the file still exists.
 */
export function sleeperScript(
  base: string,
  sandboxId: string,
  reap: string,
  pollSeconds = SWITCH_POLL_SECONDS,
  leasePollSeconds = LEASE_POLL_SECONDS,
): string {
  const f = files(base, sandboxId);
  return [
    `echo $$ > ${quote(f.pid)}`,
    'why=expired',
    'while :; do',
    `  exp=$(cat ${quote(f.expires)} 2>/dev/null) || exit 0`,
    '  case "$exp" in ""|*[!0-9]*) exit 0;; esac',
    '  now=$(date +%s)',
    '  [ "$now" -ge "$exp" ] && break',
    `  left=$((exp - now)); poll=${pollSeconds}`,
    // A lease: its deadline is the last renewal (the file's mtime) plus the lease.
    `  lease=$(cat ${quote(f.lease)} 2>/dev/null || true)`,
    '  case "$lease" in ""|*[!0-9]*) ;; *)',
    `    renewed=$(stat -c %Y ${quote(f.lease)} 2>/dev/null || echo "$now")`,
    '    due=$((renewed + lease - now))',
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a shell parameter, expanded by sh.
    '    if [ "$due" -le 0 ]; then why="lease lapsed (not renewed for ${lease}s)"; break; fi',
    '    [ "$due" -lt "$left" ] && left=$due',
    `    poll=${leasePollSeconds};;`,
    '  esac',
    '  [ "$left" -gt "$poll" ] && left=$poll',
    '  sleep "$left"',
    'done',
    `{ ${reap}; } >/dev/null 2>&1`,
    `rm -f -- ${quote(f.expires)} ${quote(f.pid)} ${quote(f.lease)}`,
    `echo "$(date -u +%Y-%m-%dT%H:%M:%SZ) ${sandboxId} $why: torn down by the host-side switch" >> ${quote(f.log)}`,
  ].join('\n');
}

/**
 * Arms the switch: writes the expiry file, then starts the sleeper detached from the SSH session
 * (new session, no terminal, every descriptor closed, so sshd does not wait for it).
 */
export function armSwitchCommand(
  base: string,
  sandboxId: string,
  expiresAt: Date,
  reap: string,
  leaseSeconds?: number,
): string {
  const f = files(base, sandboxId);
  const epoch = String(Math.ceil(expiresAt.getTime() / 1000));
  const lease = leaseSeconds !== undefined && leaseSeconds > 0 ? String(Math.ceil(leaseSeconds)) : undefined;
  return [
    'umask 077',
    command('mkdir', '-p', '--', f.dir),
    // Written (and so renewed) before the sleeper starts: the lease runs from now.
    ...(lease ? [`printf '%s\\n' ${lease} > ${quote(f.lease)}`] : []),
    `printf '%s\\n' ${epoch} > ${quote(`${f.expires}.tmp`)}`,
    command('mv', '--', `${f.expires}.tmp`, f.expires),
    `(nohup setsid sh -c ${quote(sleeperScript(base, sandboxId, reap))} </dev/null >/dev/null 2>&1 &)`,
    'echo armed',
  ].join(' && ');
}

/** Moves the expiry (extend); prints `gone` when the switch has already fired or was disarmed. */
export function rescheduleSwitchCommand(base: string, sandboxId: string, expiresAt: Date): string {
  const f = files(base, sandboxId);
  const epoch = String(Math.ceil(expiresAt.getTime() / 1000));
  return `if [ -f ${quote(f.expires)} ]; then printf '%s\\n' ${epoch} > ${quote(`${f.expires}.tmp`)} && ${command('mv', '--', `${f.expires}.tmp`, f.expires)} && echo moved; else echo gone; fi`;
}

/**
 * Renews a lease (the keeper, every lease/4): the lease file's mtime is the last renewal. Prints
 * `gone` when the switch has fired or was disarmed, so the keeper can stop.
 */
export function renewLeaseCommand(base: string, sandboxId: string): string {
  const f = files(base, sandboxId);
  return `if [ -f ${quote(f.lease)} ] && [ -f ${quote(f.expires)} ]; then ${command('touch', '-c', '--', f.lease)} && echo renewed; else echo gone; fi`;
}

/** Renews the lease over an open session; false when the sandbox is gone there. */
export async function renewLeaseOver(session: SshSession, base: string, sandboxId: string): Promise<boolean> {
  const answer = await session.run(renewLeaseCommand(base, sandboxId), { what: 'renewing the lease' });
  return answer.trim() === 'renewed';
}

/**
 * Disarms it (teardown): deletes the expiry file and stops the sleeper's process group, if the pid
 * file still names a sleeper of this sandbox (a recycled pid is left alone).
 */
export function disarmSwitchCommand(base: string, sandboxId: string): string {
  const f = files(base, sandboxId);
  return [
    `rm -f -- ${quote(f.expires)}`,
    `pid=$(cat ${quote(f.pid)} 2>/dev/null || true)`,
    `case "$pid" in ""|*[!0-9]*) ;; *) if grep -qF ${quote(sandboxId)} "/proc/$pid/cmdline" 2>/dev/null; then kill -s TERM -- "-$pid" 2>/dev/null || kill -s TERM "$pid" 2>/dev/null; fi;; esac`,
    `rm -f -- ${quote(f.pid)} ${quote(f.lease)}`,
    'true',
  ].join('; ');
}
