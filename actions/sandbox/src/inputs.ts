import * as core from '@actions/core';
import { InputError } from '@sand-boxer/core';

/** Every input of action.yml, parsed once into a typed object (kebab-case → camelCase). */
export interface ActionInputs {
  profile: string;
  inputs: Record<string, string>;
  host: string | undefined;
  sshUser: string | undefined;
  sshPort: number | undefined;
  sshKey: string | undefined;
  knownHosts: string | undefined;
  hostFingerprint: string | undefined;
  consumer: string;
  ttl: string | undefined;
  waitTimeout: number | undefined;
  composeCommand: string | undefined;
  cleanup: boolean;
  logs: 'on-failure' | 'always' | 'never';
  /** What to forward to the runner's 127.0.0.1 for later steps: `service:port` names, or all (`['*']`). */
  forward: string[];
  /** Write an ssh_config (and key, known_hosts) for later steps, and add it to ~/.ssh/config. */
  sshConfig: boolean;
  /** Readiness checks on top of the profile's (http://…, tcp://…, log://…/…/). */
  waitFor: string[];
  /** A team's `sandboxer serve`: main and post go through it (shared credits and host capacity). */
  serverUrl: string | undefined;
  /** `lease` (default 60s; `0` off): kept by the job's keeper where the backend can keep one. */
  lease: string | undefined;
  /** Its token; without one, a GitHub OIDC token for `oidcAudience` (needs `id-token: write`). */
  serverToken: string | undefined;
  oidcAudience: string;
}

const optional = (name: string): string | undefined => core.getInput(name) || undefined;

/** Reads and checks the inputs; an error names the input and what it expected. */
export function getInputs(): ActionInputs {
  const profile = core.getInput('profile', { required: true });
  return {
    profile,
    inputs: parseKeyValueLines(core.getInput('inputs')),
    host: optional('host'),
    sshUser: optional('ssh-user'),
    sshPort: parseNumberInput('ssh-port', 1, 65_535),
    sshKey: optional('ssh-key'),
    knownHosts: optional('known-hosts'),
    hostFingerprint: optional('host-fingerprint'),
    consumer: optional('consumer') ?? defaultConsumer(process.env, matrixLeg()),
    ttl: optional('ttl'),
    waitTimeout: parseNumberInput('wait-timeout', 1, 86_400),
    // As for the CLI, a job-level SANDBOXER_COMPOSE_CMD also sets it (the input wins).
    composeCommand: optional('compose-command') ?? (process.env.SANDBOXER_COMPOSE_CMD || undefined),
    cleanup: parseBooleanInput('cleanup', true),
    logs: parseChoice('logs', ['on-failure', 'always', 'never'] as const, 'on-failure'),
    forward: parseForward(core.getInput('forward')),
    sshConfig: parseBooleanInput('ssh-config', false),
    waitFor: lines(core.getInput('wait-for')),
    serverUrl: optional('server-url'),
    lease: optional('lease'),
    serverToken: optional('server-token'),
    oidcAudience: optional('oidc-audience') ?? 'sand-boxer',
  };
}

/** `key=value` per line; blank lines and `# comments` are skipped; the value may contain `=`. */
export function parseKeyValueLines(text: string): Record<string, string> {
  const result: Record<string, string> = {};
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = raw.trim();
    if (!line || line.startsWith('#')) return;
    const eq = line.indexOf('=');
    const key = eq > 0 ? line.slice(0, eq).trim() : '';
    if (!/^[a-z][a-z0-9_]*$/.test(key)) {
      throw new InputError(
        `input "inputs", line ${index + 1}: expected key=value with a key like "repo", got ${JSON.stringify(line)}`,
      );
    }
    if (Object.hasOwn(result, key)) {
      throw new InputError(
        `input "inputs", line ${index + 1}: ${key} is given twice (a second value would silently win); give it once`,
      );
    }
    result[key] = line.slice(eq + 1).trim();
  });
  return result;
}

/** Non-empty lines, trimmed; `# comments` skipped. */
function lines(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#'));
}

/** `all`, or lines (or commas) of `service:port`, `tunnel`, `host:port` or a port. */
export function parseForward(text: string): string[] {
  const names = lines(text).flatMap((line) =>
    line
      .split(',')
      .map((n) => n.trim())
      .filter(Boolean),
  );
  if (names.length === 1 && names[0] === 'all') return ['*'];
  for (const name of names) {
    if (name === 'all' || !/^[A-Za-z0-9_.-]+(:\d{1,5})?$/.test(name)) {
      throw new InputError(
        `input "forward": expected "all" or lines of service:port (or a port), got ${JSON.stringify(name)}`,
      );
    }
  }
  return names;
}

/** `owner/repo#run.attempt/job`: unique per job run, so leftovers can be traced to it. */
export function defaultConsumer(env: NodeJS.ProcessEnv, leg?: { index: number; total: number }): string {
  const repo = env.GITHUB_REPOSITORY ?? 'local';
  const job = `${repo}#${env.GITHUB_RUN_ID ?? '0'}.${env.GITHUB_RUN_ATTEMPT ?? '1'}/${env.GITHUB_JOB ?? 'job'}`;
  // Every leg of a matrix has the same job id: its index keeps their records and summaries apart.
  return leg !== undefined && leg.total > 1 ? `${job}/${leg.index}` : job;
}

/**
 * The matrix leg this step runs in, from the hidden inputs `job-index`/`job-total` whose defaults
 * are `${{ strategy.job-index }}`/`${{ strategy.job-total }}` (a JavaScript action sees no matrix
 * in its environment). Undefined outside a matrix or when the runner left them empty.
 */
function matrixLeg(): { index: number; total: number } | undefined {
  const index = Number(core.getInput('job-index'));
  const total = Number(core.getInput('job-total'));
  if (!core.getInput('job-index') || !Number.isInteger(index) || !Number.isInteger(total)) return undefined;
  return { index, total };
}

function parseNumberInput(name: string, min: number, max: number): number | undefined {
  const text = core.getInput(name);
  if (!text) return undefined;
  const value = Number(text);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new InputError(
      `input "${name}": expected a whole number from ${min} to ${max}, got ${JSON.stringify(text)}`,
    );
  }
  return value;
}

function parseBooleanInput(name: string, fallback: boolean): boolean {
  const text = core.getInput(name).toLowerCase();
  if (!text) return fallback;
  if (text === 'true') return true;
  if (text === 'false') return false;
  throw new InputError(`input "${name}": expected true or false, got ${JSON.stringify(text)}`);
}

function parseChoice<const T extends readonly string[]>(
  name: string,
  choices: T,
  fallback: T[number],
): T[number] {
  const text = core.getInput(name);
  if (!text) return fallback;
  if ((choices as readonly string[]).includes(text)) return text as T[number];
  throw new InputError(`input "${name}": expected one of ${choices.join(', ')}, got ${JSON.stringify(text)}`);
}
