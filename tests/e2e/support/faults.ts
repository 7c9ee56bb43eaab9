import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Testbed } from './testbed.js';

/**
 * Fault injection on the real testbed (tests/testbed/up.sh): stopping and starting one sshd or
 * dockerd, mounting a small tmpfs. Root only. Every stop has its start, and every start is a no-op
 * when the thing already runs, so an afterAll can call them all unconditionally.
 */

/** Alive and not a zombie (PID 1 reaps orphans lazily on this machine, and kill -0 succeeds on zombies). */
export function processAlive(pid: number): boolean {
  const stat = spawnSync('ps', ['-o', 'stat=', '-p', String(pid)], { encoding: 'utf8' }).stdout.trim();
  return stat !== '' && !stat.startsWith('Z');
}

interface Proc {
  pid: number;
  ppid: number;
  comm: string;
}

function processes(): Proc[] {
  const out = execFileSync('ps', ['-eo', 'pid=,ppid=,stat=,comm='], { encoding: 'utf8' });
  return out
    .split('\n')
    .map((line) => line.trim().split(/\s+/))
    .filter((f) => f.length >= 4 && !(f[2] as string).startsWith('Z'))
    .map(([pid, ppid, , comm]) => ({ pid: Number(pid), ppid: Number(ppid), comm: comm as string }));
}

/** The process and everything below it (children of children…), living ones only. */
export function processTree(root: number): Proc[] {
  const all = processes();
  const tree = all.filter((p) => p.pid === root);
  for (let i = 0; i < tree.length; i++) {
    tree.push(...all.filter((p) => p.ppid === (tree[i] as Proc).pid));
  }
  return tree;
}

/** Resolves once `host:port` accepts a TCP connection and sends a banner, or false after `timeoutMs`. */
export async function answers(host: string, port: number, timeoutMs = 5000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect({ host, port, timeout: 1000 });
      socket.once('data', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('timeout', () => {
        socket.destroy();
        resolve(false);
      });
      socket.once('error', () => resolve(false));
    });
    if (ok || Date.now() > deadline) return ok;
    await sleep(100);
  }
}

/** One of the testbed's sshd instances (1: 127.0.0.1, 2: 127.0.0.2). */
export interface Sshd {
  address: string;
  port: number;
  config: string;
  pidFile: string;
  log: string;
}

/** Instance 2 only: the tests of other files log in to instance 1 all the time, and must not notice. */
export function secondSshd(testbed: Testbed): Sshd {
  return {
    address: testbed.host2,
    port: testbed.port,
    config: join(testbed.dir, 'sshd_config_2'),
    pidFile: join(testbed.dir, 'sshd_2.pid'),
    log: join(testbed.dir, 'sshd_2.log'),
  };
}

/**
 * Kills the sshd with SIGKILL, its listener AND every per-connection sshd below it, as a crash or a
 * pulled cable would: open sessions die with it, and new connections are refused. Returns the pids.
 */
export async function stopSshd(sshd: Sshd): Promise<number[]> {
  const master = Number(readFileSync(sshd.pidFile, 'utf8').trim());
  const cmdline = readFileSync(`/proc/${master}/cmdline`, 'utf8');
  if (!cmdline.includes(sshd.config)) throw new Error(`pid ${master} is not the sshd of ${sshd.config}`);
  const pids = processTree(master)
    .filter((p) => p.comm === 'sshd')
    .map((p) => p.pid);
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Already gone (a session that just ended).
    }
  }
  const deadline = Date.now() + 5000;
  while (pids.some(processAlive) && Date.now() < deadline) await sleep(50);
  if (await answers(sshd.address, sshd.port, 0)) throw new Error(`sshd on ${sshd.address} still answers`);
  return pids;
}

/** Starts the sshd exactly as up.sh does (it daemonizes itself), unless it already answers. */
export async function startSshd(sshd: Sshd): Promise<void> {
  if (await answers(sshd.address, sshd.port, 0)) return;
  execFileSync('/usr/sbin/sshd', ['-f', sshd.config, '-E', sshd.log]);
  if (!(await answers(sshd.address, sshd.port, 5000))) {
    throw new Error(`sshd did not come back on ${sshd.address}:${sshd.port} (see ${sshd.log})`);
  }
}

function dockerOk(): boolean {
  return spawnSync('docker', ['info'], { stdio: 'ignore', timeout: 10_000 }).status === 0;
}

const DOCKER_PID_FILE = '/var/run/docker.pid';
const CONTAINERD_PID_FILE = '/var/run/docker/containerd/containerd.pid';
/** Extra dockerd flags, as up.sh takes them (e2e runs are not turbo tasks, so no turbo.json entry). */
const DOCKERD_ARGS_ENV = 'SANDBOXER_TESTBED_DOCKERD_ARGS';

/**
 * Stops dockerd with SIGTERM (it stops every container on the machine first) and waits until it is
 * gone; returns how long that took.
 */
export async function stopDockerd(): Promise<number> {
  const started = Date.now();
  const pid = Number(readFileSync(DOCKER_PID_FILE, 'utf8').trim());
  process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + 60_000;
  while (processAlive(pid) && Date.now() < deadline) await sleep(100);
  if (processAlive(pid)) throw new Error(`dockerd (pid ${pid}) did not stop within 60 s`);
  return Date.now() - started;
}

/**
 * Starts dockerd the way tests/testbed/up.sh does when `docker info` fails: stale pid files of a
 * dead dockerd or containerd removed, then `setsid nohup /usr/sbin/dockerd` appending to the
 * testbed's dockerd.log, and up to 60 s for it to answer. A no-op when it already answers.
 */
export async function startDockerd(testbed: Testbed): Promise<void> {
  if (dockerOk()) return;
  const pid = Number(existsSync(DOCKER_PID_FILE) ? readFileSync(DOCKER_PID_FILE, 'utf8').trim() : 0);
  if (!(pid > 0 && processAlive(pid))) {
    rmSync(DOCKER_PID_FILE, { force: true });
    const containerd = existsSync(CONTAINERD_PID_FILE)
      ? Number(readFileSync(CONTAINERD_PID_FILE, 'utf8').trim())
      : 0;
    if (containerd > 0 && !processAlive(containerd)) rmSync(CONTAINERD_PID_FILE, { force: true });
    const log = openSync(join(testbed.dir, 'dockerd.log'), 'a');
    const args = (process.env[DOCKERD_ARGS_ENV] ?? '').split(/\s+/).filter(Boolean);
    const child = spawn('setsid', ['nohup', '/usr/sbin/dockerd', ...args], {
      detached: true,
      stdio: ['ignore', log, log],
    });
    child.unref();
    closeSync(log);
  }
  const deadline = Date.now() + 60_000;
  while (!dockerOk()) {
    if (Date.now() > deadline) throw new Error(`dockerd did not come up (see ${testbed.dir}/dockerd.log)`);
    await sleep(250);
  }
}

/** Mounts a tmpfs of `bytes` at `dir`, owned by `user` (the testbed's SSH user), mode 0755. */
export function mountTmpfs(dir: string, bytes: number, user: string): void {
  mkdirSync(dir, { recursive: true });
  const uid = execFileSync('id', ['-u', user], { encoding: 'utf8' }).trim();
  const gid = execFileSync('id', ['-g', user], { encoding: 'utf8' }).trim();
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${bytes},uid=${uid},gid=${gid},mode=0755`, 'tmpfs', dir]);
}

/** Unmounts it (lazily if something still has it open) and removes the mount point; safe to repeat. */
export function unmountTmpfs(dir: string): void {
  if (!existsSync(dir)) return;
  const mounted = readFileSync('/proc/mounts', 'utf8')
    .split('\n')
    .some((line) => line.split(' ')[1] === dir);
  if (mounted && spawnSync('umount', [dir]).status !== 0) execFileSync('umount', ['-l', dir]);
  rmSync(dir, { recursive: true, force: true });
}

/** The home directory of a local user (the testbed's SSH user lives on this machine). */
export function homeOf(user: string): string {
  return (execFileSync('getent', ['passwd', user], { encoding: 'utf8' }).split(':')[5] ?? '').trim();
}

/** Processes of the CLI (or its children) working on one state directory, found by their environment. */
export function processesWithHome(home: string): number[] {
  const needle = `SANDBOXER_HOME=${home}\0`;
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${entry}/environ`, 'utf8').includes(needle) && processAlive(Number(entry))) {
        pids.push(Number(entry));
      }
    } catch {
      // Ended while we looked.
    }
  }
  return pids;
}
