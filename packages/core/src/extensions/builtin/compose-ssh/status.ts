/**
 * Reading the state of a compose project from `docker inspect` (one JSON object per line, see
 * inspectProjectCommand). Pure, so readiness rules are tested by table.
 */

export interface ContainerStatus {
  id: string;
  service: string;
  /** running, exited, restarting, created, … plus health: `running (healthy)`, `exited 1`. */
  status: string;
  running: boolean;
  healthy: boolean | undefined;
  exitCode: number;
  ports: Record<string, Array<{ HostIp?: string; HostPort?: string }> | null>;
  /** Named volumes (Type `volume`) and bind mounts, as the engine reports them. */
  mounts: Array<{ Type: string; Name?: string; Destination: string }>;
  /** While its health is `starting`: when the engine runs its next health check (ms, host clock). */
  nextCheckAt?: number;
  /** Its last health-check results, oldest first (what the probe printed, and how it exited). */
  healthLog?: HealthCheckResult[];
  /** The interval between its health checks (ms), when it has a healthcheck. */
  healthIntervalMs?: number;
  /** When it started (ms), from the engine. */
  startedAtMs?: number;
}

export interface HealthCheckResult {
  end: string;
  exitCode: number;
  output: string;
}

/** A health state as Docker and Podman report it under `.State.Health` (Podman 4.3 also `.Healthcheck`). */
interface RawHealth {
  Status: string;
  Log?: Array<{ End?: string; ExitCode?: number; Output?: string }> | null;
}

interface InspectLine {
  id: string;
  labels: Record<string, string> | null;
  state: {
    Status: string;
    ExitCode: number;
    StartedAt?: string;
    Health?: RawHealth | null;
    /** Podman before 4.3 reports health here only; 4.3 both here and under `Health`. */
    Healthcheck?: RawHealth | null;
  };
  ports: ContainerStatus['ports'] | null;
  mounts?: ContainerStatus['mounts'] | null;
  healthcheck?: { Interval?: number } | null;
}

/** Docker's interval between health checks when a healthcheck sets none. */
const DEFAULT_HEALTH_INTERVAL_MS = 30_000;

/**
 * Docker runs the next health check an interval after the previous one ended (the first, an
 * interval after the container started); a `starting` container can turn healthy only then.
 */
function nextCheckAt(raw: InspectLine, health: RawHealth | undefined): number | undefined {
  if (health?.Status !== 'starting') return undefined;
  const interval = (raw.healthcheck?.Interval ?? 0) / 1e6 || DEFAULT_HEALTH_INTERVAL_MS;
  const log = health.Log ?? [];
  const since = Date.parse(log[log.length - 1]?.End ?? raw.state.StartedAt ?? '');
  return Number.isFinite(since) ? since + interval : undefined;
}

/**
 * The container's health, or undefined when it has no healthcheck. Podman reports a container
 * without one as `Health: {Status: ""}` (Docker leaves `Health` out): an empty status is no
 * healthcheck, not an unhealthy one.
 */
function healthOf(raw: InspectLine): RawHealth | undefined {
  const health = raw.state.Health ?? raw.state.Healthcheck ?? undefined;
  return health?.Status ? health : undefined;
}

function optional<K extends string, V>(key: K, value: V | undefined): Partial<Record<K, V>> {
  return value === undefined ? {} : ({ [key]: value } as Record<K, V>);
}

export function parseContainers(output: string): ContainerStatus[] {
  return output
    .split('\n')
    .filter((line) => line.trim().startsWith('{'))
    .map((line) => {
      const raw = JSON.parse(line) as InspectLine;
      const healthState = healthOf(raw);
      const health = healthState?.Status;
      const running = raw.state.Status === 'running';
      const status =
        raw.state.Status === 'exited'
          ? `exited ${raw.state.ExitCode}`
          : health
            ? `${raw.state.Status}, ${health}`
            : raw.state.Status;
      return {
        id: raw.id,
        service: raw.labels?.['com.docker.compose.service'] ?? '?',
        status,
        running,
        healthy: health === undefined ? undefined : health === 'healthy',
        exitCode: raw.state.ExitCode,
        ports: raw.ports ?? {},
        mounts: raw.mounts ?? [],
        ...optional('nextCheckAt', nextCheckAt(raw, healthState)),
        ...optional(
          'healthLog',
          healthState?.Log?.map((r) => ({
            end: r.End ?? '',
            exitCode: r.ExitCode ?? -1,
            output: r.Output ?? '',
          })),
        ),
        ...optional(
          'healthIntervalMs',
          healthState ? (raw.healthcheck?.Interval ?? 0) / 1e6 || DEFAULT_HEALTH_INTERVAL_MS : undefined,
        ),
        ...optional(
          'startedAtMs',
          Number.isFinite(Date.parse(raw.state.StartedAt ?? ''))
            ? Date.parse(raw.state.StartedAt ?? '')
            : undefined,
        ),
      };
    });
}

/**
 * How long after a check starts to send the next poll. Small: the poll itself takes ~0.1 s to reach
 * `docker inspect` on the host (an exec over SSH, `docker ps`), by when a quick check has reported;
 * a slower one is caught by the next poll, 50 ms on.
 */
const CHECK_MARGIN_MS = 20;

/**
 * How long to wait before looking again: until just after the earliest next health check of a
 * service still `starting` (when the host's clock is known), else half a second — within 50–500 ms
 * either way. A healthcheck every 2 s is then seen about 0.1 s after it turns healthy, with fewer
 * polls than a fixed short interval would take.
 */
export function pollDelayMs(notReady: ContainerStatus[], hostNowMs: number | undefined): number {
  const next = notReady.map((c) => c.nextCheckAt).filter((t): t is number => t !== undefined);
  if (hostNowMs === undefined || next.length !== notReady.length || next.length === 0) return 500;
  return Math.min(500, Math.max(50, Math.min(...next) - hostNowMs + CHECK_MARGIN_MS));
}

export interface Readiness {
  ready: boolean;
  /** Services not ready yet (or without a container), with a status to show. */
  notReady: ContainerStatus[];
  /** Services that stopped and will not become ready by waiting. */
  failed: ContainerStatus[];
}

/**
 * Ready when every expected service has a running container that is healthy (where it has a
 * healthcheck). A container that exited is a failure at once, not something to wait out.
 */
export function readiness(expected: string[], containers: ContainerStatus[]): Readiness {
  const notReady: ContainerStatus[] = [];
  const failed: ContainerStatus[] = [];
  for (const service of expected) {
    const mine = containers.filter((c) => c.service === service);
    if (mine.length === 0) {
      notReady.push({
        id: '',
        service,
        status: 'no container',
        running: false,
        healthy: undefined,
        exitCode: 0,
        ports: {},
        mounts: [],
      });
      continue;
    }
    for (const c of mine) {
      if (c.running && c.healthy !== false) continue;
      // A one-shot service (a migration, a seed) that finished successfully is done, not down.
      if (c.status === 'exited 0') continue;
      notReady.push(c);
      // An unhealthy container may still recover before the deadline; an exited one will not.
      if (!c.running && c.status.startsWith('exited')) failed.push(c);
    }
  }
  return { ready: notReady.length === 0, notReady, failed };
}
