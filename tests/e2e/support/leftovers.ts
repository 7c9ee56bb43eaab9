import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { allSandboxLeftovers } from './docker.js';

/**
 * What is left of a set of sandboxes, on a Docker engine that other test files use at the same
 * time: allSandboxLeftovers over the given base directories, keeping only the containers, networks
 * and volumes of these sandboxes (the engine also runs other files' sandboxes); plus anything of
 * their compose projects by Compose's own label (labelled by sand-boxer or not); plus the host-side
 * switches (expiry files and sleeping processes) under those base directories.
 */
export function leftoversOf(bases: string[], ids: Iterable<string>): string[] {
  const mine = new Set(ids);
  const projects = composeProjects();
  const found = allSandboxLeftovers(bases).filter((item) => {
    const [kind, name = ''] = item.split(' ');
    if (kind === 'directory') return true;
    const project = kind === 'container' ? projects.get(item) : name;
    return mine.has(/^sbx-([a-z0-9]+)/.exec(project ?? '')?.[1] ?? '');
  });
  for (const [resource, project] of projects) {
    if (mine.has(project.replace(/^sbx-/, ''))) found.push(`${resource} of ${project}`);
  }
  for (const base of bases) {
    const switches = join(base, '.sandboxer-switch');
    if (existsSync(switches)) {
      for (const name of readdirSync(switches)) {
        if (/\.(expires|pid)$/.test(name)) found.push(`switch file ${switches}/${name}`);
      }
    }
    found.push(
      ...sleepersUnder(base).map((p) => `switch sleeper pid ${p.pid} of ${p.sandbox} under ${base}`),
    );
  }
  return [...new Set(found)];
}

/** Every container (by short id), network and volume (by `kind id`) of a compose project, with the project. */
function composeProjects(): Map<string, string> {
  const label = 'com.docker.compose.project';
  const list = (...args: string[]) =>
    execFileSync(
      'docker',
      [...args, '--filter', `label=${label}`, '--format', `{{.ID}} {{.Label "${label}"}}`],
      {
        encoding: 'utf8',
      },
    )
      .split('\n')
      .filter(Boolean)
      .map((line) => line.split(' ') as [string, string]);
  const projects = new Map<string, string>();
  for (const [id, project] of list('ps', '-a')) projects.set(`container ${id}`, project);
  for (const [id, project] of list('network', 'ls')) projects.set(`network ${id}`, project);
  const volumes = execFileSync(
    'docker',
    ['volume', 'ls', '--filter', `label=${label}`, '--format', `{{.Name}} {{.Label "${label}"}}`],
    { encoding: 'utf8' },
  );
  for (const line of volumes.split('\n').filter(Boolean)) {
    const [name, project] = line.split(' ') as [string, string];
    projects.set(`volume ${name}`, project);
  }
  return projects;
}

/** Processes whose command line names a switch under `base` (the host-side sleepers still waiting), with their sandbox. */
export function sleepersUnder(base: string): Array<{ pid: number; sandbox: string }> {
  const needle = `${base}/.sandboxer-switch/`;
  const found: Array<{ pid: number; sandbox: string }> = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let cmdline: string;
    try {
      cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
    } catch {
      continue; // The process ended while we looked.
    }
    const at = cmdline.indexOf(needle);
    if (at < 0) continue;
    const sandbox = /^([a-z0-9]+)\./.exec(cmdline.slice(at + needle.length))?.[1] ?? '?';
    found.push({ pid: Number(entry), sandbox });
  }
  return found;
}

/** Every sandbox id a state directory has a record of (in any state). */
export function recordedIds(home: string): string[] {
  const dir = join(home, 'sandboxes');
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => /^[a-z0-9]+\.json$/.test(f))
    .map((f) => f.replace(/\.json$/, ''));
}
