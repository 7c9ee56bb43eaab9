import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { RemoteCommandError } from '../../src/errors.js';
import { LABELS_FILE } from '../../src/extensions/builtin/compose-ssh/commands.js';
import type { VolumeMount } from '../../src/extensions/builtin/compose-ssh/snapshot-commands.js';
import { MARKER_FILE } from '../../src/extensions/builtin/remote-workspace/workspace.js';
import type { ExecOptions, SshSession } from '../../src/ssh/session.js';
import { type FakeBin, fakeBin } from './fake-bin.js';

export const ID_A = 'a1b2c3d4e5f6a1b2c3d4e5f6a1b2c3d4e5f6a1b2c3d4e5f6a1b2c3d4e5f6abcd';
export const ID_B = '0123456789ab';

export const DB: VolumeMount = {
  key: 'db-data',
  service: 'db',
  containerId: ID_A,
  path: '/var/lib/postgresql/data',
};
export const CACHE: VolumeMount = { key: 'cache', service: 'redis', containerId: ID_B, path: '/data' };

/**
 * A fake `docker` in plain sh (fake-bin's Node recorder costs ~0.4 s a call on a slow runner, and a
 * capture makes several): logs its argv, fails a subcommand when `<root>/fail-<subcommand>` exists,
 * and behaves enough like the engine for a capture and a restore to be checked end to end.
 * `pause`/`stop` drop a `PAUSED` file into the workspace named by `<root>/ws-path` and
 * `unpause`/`start` remove it, so a workspace.tar that holds `PAUSED` was taken while the services
 * were held still. `cp C:/p -` streams `<root>/containers/C/p` as `docker cp` does (entries named
 * `<basename>/…`); `cp - C:/p` unpacks stdin into `<root>/restored/C/p`. `ps` and `inspect` print
 * `<root>/ps` and `<root>/inspect`.
 */
const FAKE_DOCKER = `#!/bin/sh
root=<root>
{ for a in "$@"; do printf '%s\\037' "$a"; done; printf '\\036'; } >> "$root/docker.log"
if [ -e "$root/fail-$1" ]; then echo "docker $1: injected failure" >&2; exit 1; fi
case "$1" in
  pause|stop) if [ -f "$root/ws-path" ]; then : > "$(cat "$root/ws-path")/PAUSED" 2>/dev/null || true; fi ;;
  unpause|start) if [ -f "$root/ws-path" ]; then rm -f "$(cat "$root/ws-path")/PAUSED"; fi ;;
  ps|inspect) if [ -f "$root/$1" ]; then cat "$root/$1"; fi ;;
  cp)
    if [ "$2" = - ]; then
      dest="$root/restored/\${3%%:*}\${3#*:}"
      mkdir -p "$dest" && exec tar -C "$dest" -xf -
    fi
    if [ -e "$root/slow-cp" ]; then : > "$root/cp-started"; sleep 0.3; fi
    src="$root/containers/\${2%%:*}\${2#*:}"
    exec tar -C "$(dirname "$src")" -cf - "$(basename "$src")" ;;
esac
`;

export interface Rig {
  fake: FakeBin;
  root: string;
  /** Runs a script with the fake docker first in PATH. */
  run(script: string, input?: string): { stdout: string; stderr: string; status: number };
  /** The fake docker's calls, oldest first. */
  calls(): string[][];
  /** `docker <subcommand>` calls in order, for checking what ran when. */
  order(): string[];
}

export function rig(): Rig {
  const fake = fakeBin([]);
  const root = fake.root;
  const path = join(root, 'bin', 'docker');
  writeFileSync(path, FAKE_DOCKER.replace('<root>', `'${root.replaceAll("'", `'\\''`)}'`));
  chmodSync(path, 0o755);
  const log = join(root, 'docker.log');
  const calls = () =>
    existsSync(log)
      ? readFileSync(log, 'utf8')
          .split('\x1e')
          .filter(Boolean)
          .map((record) => record.split('\x1f').slice(0, -1))
      : [];
  return {
    fake,
    root,
    run: (script, input) => fake.run(script, input === undefined ? {} : { input }),
    calls,
    order: () => calls().map((c) => c[0] as string),
  };
}

/** A sandbox directory as provision leaves it: marker, labels file, the user's files. */
export function workspace(dir: string): string {
  mkdirSync(join(dir, 'src'), { recursive: true });
  writeFileSync(join(dir, MARKER_FILE), '{"sandbox_id":"abc123def456"}\n');
  writeFileSync(join(dir, LABELS_FILE), 'services: {}\n');
  writeFileSync(join(dir, 'docker-compose.yml'), 'services: {db: {image: postgres}}\n');
  writeFileSync(join(dir, 'src', 'app.txt'), 'app\n');
  // Only the top-level marker is ours: a nested file of the same name is the user's.
  mkdirSync(join(dir, 'sub'));
  writeFileSync(join(dir, 'sub', MARKER_FILE), 'user data\n');
  return dir;
}

/** The volume contents the fake `docker cp` streams from the "containers". */
export function volumes(r: Rig, mounts: VolumeMount[] = [DB, CACHE]): void {
  for (const m of mounts) {
    const dir = join(r.root, 'containers', m.containerId, m.path);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'VERSION'), `${m.key}\n`);
  }
}

/**
 * The SSH boundary, replaced: a session whose commands run in a local `sh` with the fake docker
 * first in PATH. Same contract as SshSession.run: stdout, or RemoteCommandError on a non-zero exit.
 */
export function loopbackSession(r: Rig): SshSession & { commands: string[] } {
  const commands: string[] = [];
  const run = (cmd: string, options: ExecOptions = {}) =>
    new Promise<string>((resolve, reject) => {
      commands.push(cmd);
      const child = spawn('sh', ['-c', cmd], { cwd: r.root, env: r.fake.env() });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk: Buffer) => {
        if (options.onStdout) options.onStdout(chunk);
        else stdout += chunk.toString();
      });
      child.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
      });
      child.on('error', reject);
      child.on('close', (code) => {
        if (code === 0) resolve(stdout);
        else
          reject(
            new RemoteCommandError(`${options.what ?? 'command'} failed (exit ${code}): ${stderr}`, code),
          );
      });
      if (options.stdin === undefined) child.stdin.end();
      else if (typeof options.stdin === 'string') child.stdin.end(options.stdin);
      else options.stdin.pipe(child.stdin);
    });
  return { destination: 'loopback', commands, run, close: () => {} } as unknown as SshSession & {
    commands: string[];
  };
}
