// The real testbed (tests/testbed/README.md) as the compose benchmark uses it: its env.sh, a private
// directory on the host for everything the benchmark makes, hosts and known_hosts files that point
// at the counting proxy, sshd-log login counting, and a leftover sweep that touches only what this
// run created.
import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  existsSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Parses `export K='V'` lines of env.sh. */
function parseEnvFile(text) {
  /** @type {Record<string, string>} */
  const env = {};
  for (const line of text.split('\n')) {
    const match = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
    if (!match) continue;
    let value = match[2].trim();
    if (value.startsWith("'"))
      value = value
        .split(`'\\''`)
        .map((p) => p.replace(/^'|'$/g, ''))
        .join("'");
    else if (value.startsWith('"')) value = value.slice(1, -1);
    env[match[1]] = value;
  }
  return env;
}

/**
 * The testbed's settings, or an Error that says how to bring it up.
 * @returns {{ dir: string, user: string, key: string, knownHosts: string, host: string, port: number,
 *   sshdLog: string, composeCmd: string }}
 */
export function loadTestbed() {
  const { SANDBOXER_TESTBED_DIR, SANDBOXER_COMPOSE_CMD } = process.env;
  const dir = SANDBOXER_TESTBED_DIR || '/tmp/sandboxer-testbed';
  const file = join(dir, 'env.sh');
  if (!existsSync(file)) {
    throw new Error(`the testbed is not up (${file} is missing): run \`sudo bash tests/testbed/up.sh\``);
  }
  const env = parseEnvFile(readFileSync(file, 'utf8'));
  const get = (name) => {
    const value = env[`SANDBOXER_TESTBED_${name}`];
    if (!value) throw new Error(`${file} has no SANDBOXER_TESTBED_${name}: re-run tests/testbed/up.sh`);
    return value;
  };
  return {
    dir: get('DIR'),
    user: get('USER'),
    key: get('KEY'),
    knownHosts: get('KNOWN_HOSTS'),
    host: get('HOST1'),
    port: Number(get('PORT')),
    sshdLog: get('SSHD_LOG1'),
    composeCmd: SANDBOXER_COMPOSE_CMD || (get('COMPOSE_CMDS').split(',')[0] ?? 'docker-compose'),
  };
}

/** ssh options for the testbed at `port` with `knownHosts`, as an argv fragment. */
export function sshOptions(testbed, port, knownHosts) {
  return [
    '-p',
    String(port),
    '-i',
    testbed.key,
    '-o',
    'IdentitiesOnly=yes',
    '-o',
    'BatchMode=yes',
    '-o',
    'StrictHostKeyChecking=yes',
    '-o',
    `UserKnownHostsFile=${knownHosts}`,
    '-o',
    'GlobalKnownHostsFile=/dev/null',
    '-F',
    '/dev/null',
  ];
}

/** Runs a command on the host directly (not through the proxy: setup and cleanup are not measured). */
export function onHost(testbed, command) {
  return new Promise((resolve, reject) => {
    const args = [
      ...sshOptions(testbed, testbed.port, testbed.knownHosts),
      `${testbed.user}@${testbed.host}`,
    ];
    execFile('ssh', [...args, command], { encoding: 'utf8' }, (error, stdout, stderr) => {
      if (error) reject(new Error(`ssh ${command}: ${stderr.trim() || error.message}`));
      else resolve(stdout);
    });
  });
}

/** A unique directory on the host for this run (created by the host user, so it can write there). */
export async function makeHostRoot(testbed) {
  const root = `/tmp/sandboxer-bench-${process.pid}-${randomBytes(3).toString('hex')}`;
  await onHost(testbed, `mkdir -m 0755 -- ${root}`);
  return root;
}

/** A known_hosts file that trusts the testbed's host key at 127.0.0.1:<proxy port> too. */
export function writeProxyKnownHosts(testbed, proxyPort, file) {
  const line = readFileSync(testbed.knownHosts, 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`[${testbed.host}]:${testbed.port} `));
  if (!line) throw new Error(`${testbed.knownHosts} has no key for [${testbed.host}]:${testbed.port}`);
  writeFileSync(file, `[127.0.0.1]:${proxyPort} ${line.split(' ').slice(1).join(' ')}\n`);
  return file;
}

/** A hosts file with one host, `bench`, reached through the proxy. */
export function writeHostsFile(file, { testbed, proxyPort, knownHosts, baseDir, capacity = 64 }) {
  writeFileSync(
    file,
    `default: bench
hosts:
  bench:
    address: 127.0.0.1
    port: ${proxyPort}
    user: ${testbed.user}
    identity_file: ${testbed.key}
    known_hosts: ${knownHosts}
    base_dir: ${baseDir}
    capacity: ${capacity}
`,
  );
  return file;
}

/**
 * Reads what sshd appended to its log since `mark()`, by the client port each line names: logins
 * ("Accepted publickey … port N") and sessions started ("Starting session: command for … port N",
 * logged at VERBOSE for every session channel that runs a command, a shell or a subsystem: the
 * channel opens of a create, which encryption hides from the proxy).
 */
export function sshdLog(file) {
  const read = (offset) => {
    const size = statSync(file).size;
    if (size <= offset) return '';
    const buffer = Buffer.alloc(size - offset);
    const fd = openSync(file, 'r');
    try {
      readSync(fd, buffer, 0, buffer.length, offset);
    } finally {
      closeSync(fd);
    }
    return buffer.toString('utf8');
  };
  const ports = (text, pattern) => [...text.matchAll(pattern)].map((m) => Number(m[1]));
  return {
    mark: () => statSync(file).size,
    /** Ports of "Accepted publickey" lines written after `offset`. */
    loginPortsSince: (offset) => ports(read(offset), /Accepted publickey for \S+ from \S+ port (\d+)/g),
    /** Ports of "Starting session" lines written after `offset`, one per session channel. */
    sessionPortsSince: (offset) =>
      ports(read(offset), /Starting session: \S+(?: \S+)? for \S+ from \S+ port (\d+)/g),
  };
}

function docker(...args) {
  try {
    return execFileSync('docker', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
      .split('\n')
      .filter(Boolean);
  } catch {
    return [];
  }
}

/**
 * Removes the containers, networks and volumes of compose projects this run made (by their compose
 * project label, so nothing of anyone else's), and says what it found.
 */
export function sweepProjects(projects) {
  const found = [];
  for (const project of projects) {
    const filter = `label=com.docker.compose.project=${project}`;
    for (const id of docker('ps', '-aq', '--filter', filter)) {
      docker('rm', '-f', '-v', id);
      found.push(`container ${id} (${project})`);
    }
    for (const id of docker('network', 'ls', '-q', '--filter', filter)) {
      docker('network', 'rm', id);
      found.push(`network ${id} (${project})`);
    }
    for (const id of docker('volume', 'ls', '-q', '--filter', filter)) {
      docker('volume', 'rm', '-f', id);
      found.push(`volume ${id} (${project})`);
    }
  }
  return found;
}

/**
 * The CLI as a user runs it against the testbed's first host, directly (no proxy): a private
 * SANDBOXER_HOME (`prefix` names it), the testbed's key as text, its compose command; `cli(args)`
 * runs the built CLI and returns stdout; `hostArgs` names the host and its known_hosts.
 */
export function testbedCli(prefix) {
  const testbed = loadTestbed();
  const home = mkdtempSync(join(tmpdir(), prefix));
  const env = {
    ...process.env,
    SANDBOXER_HOME: home,
    SANDBOXER_COMPOSE_CMD: testbed.composeCmd,
    SANDBOXER_SSH_KEY: readFileSync(testbed.key, 'utf8'),
  };
  const cliPath = join(import.meta.dirname, '..', '..', 'packages', 'cli', 'bin', 'sandboxer.js');
  const cli = (args) => execFileSync(process.execPath, [cliPath, ...args], { env, encoding: 'utf8' });
  const hostArgs = [
    '--host',
    `${testbed.user}@${testbed.host}:${testbed.port}`,
    '--known-hosts',
    testbed.knownHosts,
  ];
  return { testbed, home, env, cli, hostArgs };
}
