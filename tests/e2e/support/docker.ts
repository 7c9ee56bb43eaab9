import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

/** The testbed's Docker engine runs on this machine, so tests can look at it directly. */
function docker(...args: string[]): string[] {
  return execFileSync('docker', args, { encoding: 'utf8' }).split('\n').filter(Boolean);
}

/** Every container, network and volume of a sandbox's compose project, by Compose's own label. */
export function projectResources(sandboxId: string): string[] {
  const filter = `label=com.docker.compose.project=sbx-${sandboxId}`;
  return [
    ...docker('ps', '-aq', '--filter', filter).map((id) => `container ${id}`),
    ...docker('network', 'ls', '-q', '--filter', filter).map((id) => `network ${id}`),
    ...docker('volume', 'ls', '-q', '--filter', filter).map((id) => `volume ${id}`),
  ];
}

/** Everything sand-boxer made on the testbed: labelled resources and sbx-* directories. */
export function allSandboxLeftovers(dirs: string[], trashWaitMs = 30_000): string[] {
  const found = [
    ...docker('ps', '-aq', '--filter', 'label=dev.sandboxer.managed=true').map((id) => `container ${id}`),
    ...docker('network', 'ls', '--format', '{{.Name}}')
      .filter((n) => n.startsWith('sbx-'))
      .map((n) => `network ${n}`),
    ...docker('volume', 'ls', '--format', '{{.Name}}')
      .filter((n) => n.startsWith('sbx-'))
      .map((n) => `volume ${n}`),
  ];
  return [...found, ...directoryLeftovers(dirs, trashWaitMs)];
}

/**
 * The `sbx-*` directories under `dirs`, and what their trash still holds once it has had
 * `trashWaitMs` to finish (removed directories are deleted in the background from the trash).
 */
export function directoryLeftovers(dirs: string[], trashWaitMs: number): string[] {
  const found: string[] = [];
  for (const dir of dirs) {
    if (!existsSync(dir)) continue;
    for (const name of readdirSync(dir)) if (name.startsWith('sbx-')) found.push(`directory ${dir}/${name}`);
    const trash = join(dir, '.sandboxer-trash');
    const waiting = () => (existsSync(trash) ? readdirSync(trash) : []);
    const until = Date.now() + trashWaitMs;
    while (waiting().length > 0 && Date.now() < until) spawnSync('sleep', ['0.2']);
    found.push(...waiting().map((name) => `directory ${trash}/${name} (not deleted)`));
  }
  return found;
}

/**
 * Removes what `allSandboxLeftovers` finds and returns what it removed. Only for the start of a run:
 * an earlier run that was killed half-way (a CI job cut off, a Ctrl-C) leaves its sandboxes behind,
 * and the files that check the testbed is clean would blame them on this run's tests.
 */
export function removeSandboxLeftovers(dirs: string[]): string[] {
  const found = allSandboxLeftovers(dirs, 0);
  for (const item of found) {
    const [kind = '', name = ''] = item.split(' ');
    if (kind === 'directory') spawnSync('rm', ['-rf', '--', name]);
    else if (kind === 'container') spawnSync('docker', ['rm', '-f', '-v', name], { stdio: 'ignore' });
    else spawnSync('docker', [kind, 'rm', '-f', name], { stdio: 'ignore' });
  }
  // The trash's contents only: the directory itself stays, as the product leaves it.
  for (const dir of dirs) {
    const trash = join(dir, '.sandboxer-trash');
    if (existsSync(trash))
      for (const name of readdirSync(trash)) spawnSync('rm', ['-rf', '--', join(trash, name)]);
  }
  return found;
}

export function containerLabels(sandboxId: string): Record<string, string> {
  const [id] = docker('ps', '-q', '--filter', `label=com.docker.compose.project=sbx-${sandboxId}`);
  if (!id) return {};
  return JSON.parse(docker('inspect', '--format', '{{json .Config.Labels}}', id)[0] ?? '{}');
}
