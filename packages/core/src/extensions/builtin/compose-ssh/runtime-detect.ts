import { ProvisionError } from '../../../errors.js';
import { command, quote } from '../../../ssh/quote.js';
import type { SshSession } from '../../../ssh/session.js';
import { type ComposeRuntime, composeRuntime } from './commands.js';

/**
 * `compose_command: auto`: which compose runtime a host has, found by asking it. Hosted runners and
 * most hosts have Compose v2 (`docker compose`), Debian 12 has only v1 (`docker-compose`), a Podman
 * host has `podman-compose`; a fixed default fails on two of the three with an error that does not
 * say why (`unknown shorthand flag: 'p' in -p`).
 */

/** The setting that asks for detection (the extension's default). */
export const AUTO = 'auto';

/** What `auto` tries, in this order: the first that answers `version` is used. */
export const COMPOSE_CANDIDATES = ['docker compose', 'docker-compose', 'podman-compose'] as const;

/** One candidate's answer to `<candidate> version`. */
export interface ProbeResult {
  candidate: string;
  ok: boolean;
  /** Its first line of output: the version when it works, the reason when it does not. */
  said: string;
}

/** What a host has: the runtime to use, and every engine that answered (gc and cleanup scan them all). */
export interface DetectedRuntimes {
  runtime: ComposeRuntime;
  engines: Array<ComposeRuntime['engine']>;
  probes: ProbeResult[];
}

/**
 * One round trip: `<candidate> version` for each candidate, printing `probe <ok|fail> <n> <first line>`.
 * Compose v1 exits 0 on unknown options but not on an unknown command, and `docker compose` without
 * the v2 plugin exits 1 (`unknown command`), so the exit status of `version` is enough here.
 */
export function probeRuntimesCommand(candidates: readonly string[] = COMPOSE_CANDIDATES): string {
  return candidates
    .map((candidate, n) => {
      const words = candidate.split(' ');
      const run = command(...words, 'version');
      const first = command(words[0] as string);
      // stdin closed and a time limit: a runtime that hangs must not hang the create. What it said:
      // its first line that names compose (podman-compose prints podman's version first), else its first.
      const said = `{ printf '%s\\n' "$out" | grep -i compose; printf '%s\\n' "$out"; } | grep -v '^\\[' | grep . | head -n 1 | cut -c1-200`;
      return `if ! command -v ${first} >/dev/null 2>&1; then s=fail; out=${quote(`${words[0]}: not installed`)}; elif out=$(timeout 30 ${run} </dev/null 2>&1); then s=ok; else s=fail; fi; printf 'probe %s ${n} %s\\n' "$s" "$(${said})"`;
    })
    .join('; ');
}

/** The probe's output as one result per candidate (a candidate with no line did not answer). */
export function parseProbes(
  output: string,
  candidates: readonly string[] = COMPOSE_CANDIDATES,
): ProbeResult[] {
  const lines = new Map<number, { ok: boolean; said: string }>();
  for (const line of output.split('\n')) {
    const match = /^probe (ok|fail) (\d+) ?(.*)$/.exec(line);
    if (match) lines.set(Number(match[2]), { ok: match[1] === 'ok', said: (match[3] ?? '').trim() });
  }
  return candidates.map((candidate, n) => ({
    candidate,
    ok: lines.get(n)?.ok ?? false,
    said: lines.get(n)?.said || 'no answer',
  }));
}

/** The first candidate that works, or an error that lists what was tried and how to choose one. */
export function chooseRuntime(probes: ProbeResult[], where: string): DetectedRuntimes {
  const working = probes.filter((p) => p.ok);
  const first = working[0];
  if (!first) {
    const tried = probes.map((p) => `  ${p.candidate} version: ${p.said}`).join('\n');
    throw new ProvisionError(
      `no compose runtime found on ${where}; tried:\n${tried}\n` +
        'Install one of them there, or name the command: the compose-command input of the action, ' +
        '--compose-command or SANDBOXER_COMPOSE_CMD for the CLI and server, or compose_command in the extension config.',
      { host: where, tried: probes.map((p) => ({ command: p.candidate, said: p.said })) },
    );
  }
  const engines = [...new Set(working.map((p) => composeRuntime(p.candidate).engine))];
  return { runtime: composeRuntime(first.candidate), engines, probes };
}

/** One probe per connection: the answer is kept for as long as the session lives. */
const probed = new WeakMap<SshSession, Promise<DetectedRuntimes>>();

/** Asks the host which runtimes it has (once per session). */
export function detectRuntimes(session: SshSession): Promise<DetectedRuntimes> {
  let answer = probed.get(session);
  if (!answer) {
    answer = session
      .run(probeRuntimesCommand(), { what: 'looking for a compose runtime' })
      .then((output) => chooseRuntime(parseProbes(output), session.destination));
    // A failed probe (a dropped connection) is not remembered: the next call asks again.
    answer.catch(() => probed.delete(session));
    probed.set(session, answer);
  }
  return answer;
}

/** The runtime a setting names, or the one the host has when it says `auto`. */
export async function resolveRuntime(session: SshSession, setting: string): Promise<ComposeRuntime> {
  if (isAuto(setting)) return (await detectRuntimes(session)).runtime;
  return composeRuntime(setting);
}

/**
 * Every engine to sweep for a sandbox: the one its record names, else (a record that never got as
 * far as naming one, or a sandbox gc found on the host) every engine the host has.
 */
export async function enginesFor(
  session: SshSession,
  recorded: string | undefined,
  setting: string,
): Promise<Array<ComposeRuntime['engine']>> {
  if (recorded) return [composeRuntime(recorded).engine];
  if (!isAuto(setting)) return [composeRuntime(setting).engine];
  try {
    return (await detectRuntimes(session)).engines;
  } catch (error) {
    // A host with no compose at all has no project to sweep: its directory still goes.
    if (error instanceof ProvisionError) return [];
    throw error;
  }
}

export function isAuto(setting: string): boolean {
  return setting.trim() === AUTO;
}
