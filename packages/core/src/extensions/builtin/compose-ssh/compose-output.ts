/**
 * Reading what a compose runtime prints, for the few things only its text says. Everything else
 * (which containers, their state, health and ports) is read from the engine by Compose's labels
 * (`docker`/`podman inspect`, see inspectProjectCommand), which Compose v1, v2 and podman-compose
 * all set alike. Pure; tested by table on recorded outputs (tests/fixtures/compose-output/).
 */

/** A container a compose error names: by id (Compose v1) or by name (v2, podman-compose). */
export type ContainerRef = { id: string } | { name: string };

/**
 * The containers `up` says are unhealthy (a `depends_on: condition: service_healthy` that failed):
 * - v1: `ERROR: for backend  Container "d028c695525e" is unhealthy.` (a short id)
 * - v2: `dependency failed to start: container sbx-abc-db-1 is unhealthy` (the container's name;
 *   pkg/compose/convergence.go, isServiceHealthy and waitDependencies).
 */
export function unhealthyContainers(text: string): ContainerRef[] {
  const refs: ContainerRef[] = [];
  const seen = new Set<string>();
  const add = (ref: ContainerRef) => {
    const key = JSON.stringify(ref);
    if (!seen.has(key)) refs.push(ref);
    seen.add(key);
  };
  for (const m of text.matchAll(/[Cc]ontainer "([0-9a-f]{12,64})" is unhealthy/g))
    add({ id: m[1] as string });
  for (const m of text.matchAll(/[Cc]ontainer ([A-Za-z0-9][A-Za-z0-9_.-]*) is unhealthy/g)) {
    add({ name: m[1] as string });
  }
  return refs;
}

/**
 * The service of a container Compose named: `<project>_<service>_<n>` (v1, podman-compose) or
 * `<project>-<service>-<n>` (v2); undefined for a name of another project or a `container_name`.
 */
export function serviceOfContainerName(project: string, name: string): string | undefined {
  const bare = name.replace(/^\//, '');
  for (const sep of ['_', '-']) {
    const prefix = `${project}${sep}`;
    const match = new RegExp(`^(.+)${sep === '-' ? '-' : '_'}\\d+$`).exec(bare.slice(prefix.length));
    if (bare.startsWith(prefix) && match?.[1]) return match[1];
  }
  return undefined;
}

/** Which compose a `version` line came from, and its version (`docker-compose version 1.29.2, build …`). */
export interface ComposeVersion {
  kind: 'compose-v1' | 'compose-v2' | 'podman-compose';
  version: string;
}

/**
 * `version`'s answer: v1 `docker-compose version 1.29.2, build 5becea4c`, v2 `Docker Compose version
 * v2.24.5` (or `2.24.5` with `--short`), podman-compose `podman-compose version: 1.0.3` (1.0.3 also
 * prints `podman-composer version  1.0.3` and `using podman version: 4.3.1`).
 */
export function parseComposeVersion(text: string): ComposeVersion | undefined {
  const podman = /podman-composer? version:?\s+v?(\d+\.\d+\.\d+\S*)/.exec(text);
  if (podman?.[1]) return { kind: 'podman-compose', version: podman[1] };
  const v2 = /Docker Compose version v?(\d+\.\d+\.\d+\S*)/i.exec(text);
  if (v2?.[1]) return { kind: 'compose-v2', version: v2[1] };
  const v1 = /docker-compose version (\d+\.\d+\.\d+)/.exec(text);
  if (v1?.[1]) return { kind: v1[1].startsWith('1.') ? 'compose-v1' : 'compose-v2', version: v1[1] };
  return undefined;
}

/** One container as `compose ps --format json` lists it (the fields sand-boxer may read). */
export interface ComposePsEntry {
  id: string;
  name: string;
  service: string;
  state: string;
  health: string;
}

/**
 * `compose ps --format json`: v2 before 2.21 prints one JSON array, 2.21 and later one object per
 * line; keys are `ID`, `Name`, `Service`, `State`, `Health`. Kept for tools that read `ps` (sand-boxer
 * itself reads the engine by label); v1 has no `--format json`.
 */
export function parseComposePs(text: string): ComposePsEntry[] {
  const trimmed = text.trim();
  if (!trimmed) return [];
  const items: unknown[] = trimmed.startsWith('[')
    ? (JSON.parse(trimmed) as unknown[])
    : trimmed
        .split('\n')
        .filter((line) => line.trim().startsWith('{'))
        .map((line) => JSON.parse(line) as unknown);
  return items.map((item) => {
    const o = item as Record<string, unknown>;
    const str = (key: string) => (typeof o[key] === 'string' ? (o[key] as string) : '');
    return {
      id: str('ID'),
      name: str('Name'),
      service: str('Service'),
      state: str('State'),
      health: str('Health'),
    };
  });
}
