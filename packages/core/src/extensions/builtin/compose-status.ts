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
}

interface InspectLine {
  id: string;
  labels: Record<string, string> | null;
  state: { Status: string; ExitCode: number; Health?: { Status: string } | null };
  ports: ContainerStatus['ports'] | null;
  mounts?: ContainerStatus['mounts'] | null;
}

export function parseContainers(output: string): ContainerStatus[] {
  return output
    .split('\n')
    .filter((line) => line.trim().startsWith('{'))
    .map((line) => {
      const raw = JSON.parse(line) as InspectLine;
      const health = raw.state.Health?.Status;
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
      };
    });
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
