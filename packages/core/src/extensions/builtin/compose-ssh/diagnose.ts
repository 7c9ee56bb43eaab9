import type { SshSession } from '../../../ssh/session.js';
import { type ComposeRuntime, inspectProjectCommand, logsTailCommand } from './commands.js';
import { type ContainerRef, serviceOfContainerName, unhealthyContainers } from './compose-output.js';
import { type ContainerStatus, parseContainers } from './status.js';

/**
 * Why services are not ready, as a person needs it: each service by name, its state, what its
 * health probe said the last few times (`State.Health.Log`) and the tail of its log. Used for the
 * readiness timeout, a service that stopped, and Compose's own `… is unhealthy` from `up`.
 */

const LOG_LINES = 20;
const HEALTH_RESULTS = 3;

/** The last health-check results of a container, newest last, as lines to show. */
export function healthReport(c: ContainerStatus, results = HEALTH_RESULTS): string | undefined {
  const log = c.healthLog ?? [];
  if (log.length === 0) return undefined;
  return log
    .slice(-results)
    .map(
      (r) =>
        `${r.end || '?'} exit ${r.exitCode}: ${r.output.trim().replace(/\s*\n\s*/g, ' | ') || '(no output)'}`,
    )
    .join('\n');
}

/** One block per service: its health checks (if any), then its log tail. */
export async function describeServices(
  session: SshSession,
  runtime: Pick<ComposeRuntime, 'engine'>,
  services: ContainerStatus[],
): Promise<string> {
  const parts: string[] = [];
  for (const s of services) {
    if (!s.id) continue;
    const health = healthReport(s);
    if (health) parts.push(`--- ${s.service}: last health checks ---\n${health}`);
    const result = await session.exec(logsTailCommand(runtime, s.id, LOG_LINES), {
      maxOutputBytes: 8 * 1024,
      what: 'reading logs',
    });
    parts.push(
      `--- ${s.service}: last ${LOG_LINES} log lines ---\n${result.stdout.trimEnd() || '(no output)'}`,
    );
  }
  return parts.join('\n');
}

/** The containers Compose's error names, found among the project's (by id prefix or by name). */
export function containersNamed(
  refs: ContainerRef[],
  project: string,
  containers: ContainerStatus[],
): ContainerStatus[] {
  const found: ContainerStatus[] = [];
  for (const ref of refs) {
    const match =
      'id' in ref
        ? containers.find((c) => c.id.startsWith(ref.id))
        : containers.find((c) => c.service === serviceOfContainerName(project, ref.name));
    if (match && !found.includes(match)) found.push(match);
  }
  return found;
}

/**
 * When `up` failed because a dependency is unhealthy: the message that names the service (not a
 * container id) with its health checks and log; undefined when the error is about something else.
 */
export async function explainUnhealthy(
  session: SshSession,
  runtime: ComposeRuntime,
  project: string,
  upError: string,
): Promise<string | undefined> {
  const refs = unhealthyContainers(upError);
  if (refs.length === 0) return undefined;
  const containers = parseContainers(
    await session.run(inspectProjectCommand(runtime, project), { what: 'inspecting the stack' }),
  );
  const named = containersNamed(refs, project, containers);
  if (named.length === 0) return undefined;
  const list = named.map((c) => `${c.service} (${c.status})`).join(', ');
  return `a dependency is unhealthy: ${list}\n${await describeServices(session, runtime, named)}`;
}

/** The containers of the project that are not ready (for a timed-out `up`). */
export async function unreadyContainers(
  session: SshSession,
  runtime: Pick<ComposeRuntime, 'engine'>,
  project: string,
): Promise<ContainerStatus[]> {
  const containers = parseContainers(
    await session.run(inspectProjectCommand(runtime, project), { what: 'inspecting the stack' }),
  );
  return containers.filter((c) => !(c.running && c.healthy !== false && !c.status.endsWith('starting')));
}

/**
 * Podman runs health checks from systemd timers; on a host without systemd (a container, WSL, this
 * project's testbed) none ever run and every service with a healthcheck stays `starting`. These are
 * the containers whose next check is overdue by more than an interval: the engine is not running
 * them, so sand-boxer does (`podman healthcheck run`), as the timer would have.
 */
export function overdueHealthchecks(containers: ContainerStatus[], hostNowMs: number): string[] {
  return containers
    .filter((c) => c.running && c.healthy !== true && c.healthIntervalMs !== undefined)
    .filter((c) => {
      const interval = c.healthIntervalMs as number;
      const last = Date.parse(c.healthLog?.at(-1)?.end ?? '');
      const since = Number.isFinite(last) ? last : c.startedAtMs;
      return since !== undefined && hostNowMs - since > interval + Math.min(interval, 1000);
    })
    .map((c) => c.id);
}
