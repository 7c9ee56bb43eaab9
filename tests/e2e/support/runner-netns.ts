import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Testbed } from './testbed.js';

/**
 * A "runner" that cannot cheat through the shared loopback: a network namespace joined to the root
 * one by a veth pair on 10.203.0.0/30 (host side .1, runner side .2), an extra sshd of the testbed
 * listening on the host side, and an unprivileged user with a home of its own. Whatever runs through
 * `wrap` sees only its own loopback and 10.203.0.1:2222 — the host's 127.0.0.1, where Docker
 * publishes the stack's ports, is another machine's loopback to it.
 */
export interface RunnerNamespace {
  name: string;
  hostAddress: string;
  sshPort: number;
  /** known_hosts line for [10.203.0.1]:2222 (the testbed's first host key). */
  knownHostsLine: string;
  user: string;
  uid: number;
  gid: number;
  home: string;
  /** argv that runs `argv` inside the namespace as the runner user (environment kept). */
  wrap: (argv: string[]) => string[];
  /** Runs a shell command inside the namespace as the runner user. */
  sh: (script: string, env?: Record<string, string>) => { code: number; stdout: string; stderr: string };
  /** Makes a directory (under the run's TMPDIR) that the runner user owns. */
  ownedDir: (prefix: string) => string;
  close: () => void;
}

const HOST_ADDRESS = '10.203.0.1';
const RUNNER_ADDRESS = '10.203.0.2';
const RUNNER_USER = 'sbxrunner';

function run(file: string, args: string[]): string {
  return execFileSync(file, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

function tryRun(file: string, args: string[]): void {
  spawnSync(file, args, { stdio: 'ignore' });
}

async function answers(address: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: address, port });
    socket.once('data', (chunk) => {
      socket.destroy();
      resolve(chunk.toString().startsWith('SSH-'));
    });
    socket.once('error', () => resolve(false));
    socket.setTimeout(1000, () => {
      socket.destroy();
      resolve(false);
    });
  });
}

/** The runner user: made once (idempotent), no sudo, not in the docker group. */
function runnerUser(): { uid: number; gid: number; home: string } {
  if (spawnSync('id', ['-u', RUNNER_USER]).status !== 0) {
    run('useradd', ['--create-home', '--shell', '/bin/bash', RUNNER_USER]);
  }
  const uid = Number(run('id', ['-u', RUNNER_USER]).trim());
  const gid = Number(run('id', ['-g', RUNNER_USER]).trim());
  return { uid, gid, home: `/home/${RUNNER_USER}` };
}

export async function startRunnerNamespace(testbed: Testbed): Promise<RunnerNamespace> {
  const tag = String(process.pid % 100_000);
  const name = `sbxrun${tag}`;
  const hostSide = `sbxh${tag}`;
  const runnerSide = `sbxr${tag}`;
  // What an interrupted earlier run with the same pid left.
  tryRun('ip', ['netns', 'del', name]);
  tryRun('ip', ['link', 'del', hostSide]);
  run('ip', ['netns', 'add', name]);
  run('ip', ['link', 'add', hostSide, 'type', 'veth', 'peer', 'name', runnerSide]);
  run('ip', ['link', 'set', runnerSide, 'netns', name]);
  run('ip', ['addr', 'add', `${HOST_ADDRESS}/30`, 'dev', hostSide]);
  run('ip', ['link', 'set', hostSide, 'up']);
  run('ip', ['-n', name, 'addr', 'add', `${RUNNER_ADDRESS}/30`, 'dev', runnerSide]);
  run('ip', ['-n', name, 'link', 'set', runnerSide, 'up']);
  run('ip', ['-n', name, 'link', 'set', 'lo', 'up']);

  // The testbed's first sshd again, on the host side of the pair (same host key, same users).
  const dir = mkdtempSync(join(tmpdir(), 'sbx-netns-'));
  const config = readFileSync(join(testbed.dir, 'sshd_config_1'), 'utf8')
    .replace(/^ListenAddress .*$/m, `ListenAddress ${HOST_ADDRESS}:${testbed.port}`)
    .replace(/^PidFile .*$/m, `PidFile ${join(dir, 'sshd.pid')}`);
  writeFileSync(join(dir, 'sshd_config'), config);
  run('/usr/sbin/sshd', ['-f', join(dir, 'sshd_config'), '-E', join(dir, 'sshd.log')]);
  for (let i = 0; i < 50 && !(await answers(HOST_ADDRESS, testbed.port)); i++) await sleep(100);
  const hostKey = readFileSync(join(testbed.dir, 'ssh_host_key_1.pub'), 'utf8').trim().split(/\s+/);
  const knownHostsLine = `[${HOST_ADDRESS}]:${testbed.port} ${hostKey[0]} ${hostKey[1]}`;

  const { uid, gid, home } = runnerUser();
  const wrap = (argv: string[]) => [
    'ip',
    'netns',
    'exec',
    name,
    'setpriv',
    `--reuid=${uid}`,
    `--regid=${gid}`,
    '--init-groups',
    ...argv,
  ];
  const runnerEnv = { HOME: home, USER: RUNNER_USER, LOGNAME: RUNNER_USER };
  return {
    name,
    hostAddress: HOST_ADDRESS,
    sshPort: testbed.port,
    knownHostsLine,
    user: RUNNER_USER,
    uid,
    gid,
    home,
    wrap,
    sh(script, env = {}) {
      const [file, ...args] = wrap(['bash', '--noprofile', '--norc', '-eo', 'pipefail', '-c', script]) as [
        string,
        ...string[],
      ];
      const result = spawnSync(file, args, {
        env: { PATH: '/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin', ...runnerEnv, ...env },
        encoding: 'utf8',
        timeout: 120_000,
      });
      return { code: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
    },
    ownedDir(prefix) {
      const owned = mkdtempSync(join(tmpdir(), prefix));
      run('chown', [`${uid}:${gid}`, owned]);
      return owned;
    },
    close() {
      const pidFile = join(dir, 'sshd.pid');
      if (existsSync(pidFile)) tryRun('kill', [readFileSync(pidFile, 'utf8').trim()]);
      // Every process still in the namespace (a forwarder a failed test left) goes with it.
      const pids = spawnSync('ip', ['netns', 'pids', name], { encoding: 'utf8' })
        .stdout.split('\n')
        .filter(Boolean);
      for (const pid of pids) tryRun('kill', ['-KILL', pid]);
      tryRun('ip', ['netns', 'del', name]);
      tryRun('ip', ['link', 'del', hostSide]);
    },
  };
}
