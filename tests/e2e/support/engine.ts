import { spawnSync } from 'node:child_process';
import { directoryLeftovers } from './docker.js';

/**
 * A container engine of the testbed, looked at directly (it runs on this machine): Docker, rootful
 * Podman (root's storage) or rootless Podman (the test user's, through `su`).
 */
export interface Engine {
  name: 'docker' | 'podman';
  /** Runs the engine CLI; the lines of its stdout. */
  run(...args: string[]): string[];
}

export function engine(name: 'docker' | 'podman', asUser?: string): Engine {
  return {
    name,
    run: (...args) => {
      const result = asUser
        ? spawnSync(
            'su',
            ['-', asUser, '-c', [name, ...args].map((a) => `'${a.replaceAll("'", `'\\''`)}'`).join(' ')],
            {
              encoding: 'utf8',
            },
          )
        : spawnSync(name, args, { encoding: 'utf8' });
      if (result.status !== 0) throw new Error(`${name} ${args.join(' ')}: ${result.stderr}`);
      return result.stdout.split('\n').filter(Boolean);
    },
  };
}

/**
 * Everything sand-boxer made with this engine: labelled containers, pods, `sbx-*` networks and
 * volumes, images Compose built for an `sbx-*` project, and `sbx-*` directories under `dirs`.
 */
export function engineLeftovers(e: Engine, dirs: string[], trashWaitMs = 30_000): string[] {
  const found = [
    ...e.run('ps', '-aq', '--filter', 'label=dev.sandboxer.managed=true').map((id) => `container ${id}`),
    ...e.run('ps', '-aq', '--filter', 'label=com.docker.compose.project').flatMap((id) =>
      projectOf(e, id)
        .filter((p) => p.startsWith('sbx-'))
        .map((p) => `container ${id} of ${p}`),
    ),
    ...e
      .run('network', 'ls', '--format', '{{.Name}}')
      .filter((n) => n.startsWith('sbx-'))
      .map((n) => `network ${n}`),
    ...e
      .run('volume', 'ls', '--format', '{{.Name}}')
      .filter((n) => n.startsWith('sbx-'))
      .map((n) => `volume ${n}`),
    ...e
      .run('images', '--format', '{{.Repository}}:{{.Tag}}')
      .filter((n) => /^(localhost\/)?sbx-/.test(n))
      .map((n) => `image ${n}`),
    ...(e.name === 'podman' ? e.run('pod', 'ls', '--format', '{{.Name}}').map((n) => `pod ${n}`) : []),
  ];
  return [...new Set([...found, ...directoryLeftovers(dirs, trashWaitMs)])];
}

/**
 * A listed container's compose project; none if it is gone by now (a teardown removing it between
 * the listing and this look: seen with Podman and the expiry switch), as it is then no leftover.
 */
function projectOf(e: Engine, id: string): string[] {
  try {
    return e.run('inspect', '--format', '{{index .Config.Labels "com.docker.compose.project"}}', id);
  } catch (error) {
    if (/no such (object|container)/i.test(String(error))) return [];
    throw error;
  }
}

/** Removes what engineLeftovers finds (the start of a run: an earlier, killed run's leftovers). */
export function removeEngineLeftovers(e: Engine, dirs: string[]): void {
  for (const item of engineLeftovers(e, dirs, 0)) {
    const [kind = '', name = ''] = item.split(' ');
    const quiet = () => undefined;
    try {
      if (kind === 'directory') spawnSync('rm', ['-rf', '--', name]);
      else if (kind === 'container') e.run('rm', '-f', '-v', name);
      else if (kind === 'image') e.run('rmi', '-f', name);
      else e.run(kind, 'rm', '-f', name);
    } catch {
      quiet();
    }
  }
}
