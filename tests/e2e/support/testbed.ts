import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';

/** The variables `tests/testbed/up.sh` writes to `env.sh` (see tests/testbed/README.md). */
export interface Testbed {
  dir: string;
  user: string;
  key: string;
  wrongKey: string;
  knownHosts: string;
  knownHostsBad: string;
  host1: string;
  host2: string;
  port: number;
  image: string;
  sandboxBase: string;
  /** Every `export` in env.sh, for the variables not named above. */
  env: Record<string, string>;
}

/** Parses `export K=V` lines; V may be bare, 'single-quoted' (with '\'' escapes) or "double-quoted". */
export function parseEnvFile(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const raw of text.split('\n')) {
    const match = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(raw);
    if (!match?.[1]) continue;
    env[match[1]] = unquote((match[2] ?? '').trim());
  }
  return env;
}

function unquote(value: string): string {
  if (value.startsWith("'")) {
    // sh single-quote concatenation: 'a'\''b' is a'b.
    return value
      .split(`'\\''`)
      .map((part) => part.replace(/^'/, '').replace(/'$/, ''))
      .join("'");
  }
  if (value.startsWith('"') && value.endsWith('"')) return value.slice(1, -1).replace(/\\(["\\$`])/g, '$1');
  return value;
}

/**
 * Reads the running testbed's env.sh; throws a message that says how to bring the testbed up when
 * it is not there, instead of letting every test fail with a connection error.
 */
export function loadTestbed(processEnv: NodeJS.ProcessEnv = process.env): Testbed {
  const dir = processEnv.SANDBOXER_TESTBED_DIR ?? '/tmp/sandboxer-testbed';
  const file = join(dir, 'env.sh');
  if (!existsSync(file)) {
    throw new Error(
      `the e2e testbed is not up (${file} is missing): run \`sudo bash tests/testbed/up.sh\` first`,
    );
  }
  const env = parseEnvFile(readFileSync(file, 'utf8'));
  const get = (name: string): string => {
    const value = env[`SANDBOXER_TESTBED_${name}`];
    if (!value)
      throw new Error(`${file} has no SANDBOXER_TESTBED_${name}: re-run \`sudo bash tests/testbed/up.sh\``);
    return value;
  };
  const testbed: Testbed = {
    dir: get('DIR'),
    user: get('USER'),
    key: get('KEY'),
    wrongKey: get('WRONG_KEY'),
    knownHosts: get('KNOWN_HOSTS'),
    knownHostsBad: get('KNOWN_HOSTS_BAD'),
    host1: get('HOST1'),
    host2: get('HOST2'),
    port: Number(get('PORT')),
    image: get('IMAGE'),
    sandboxBase: get('SANDBOX_BASE'),
    env,
  };
  for (const path of [testbed.key, testbed.wrongKey, testbed.knownHosts, testbed.knownHostsBad]) {
    if (!existsSync(path))
      throw new Error(`testbed file ${path} is missing: re-run \`sudo bash tests/testbed/up.sh\``);
  }
  return testbed;
}

/** loadTestbed, plus a check that both sshd instances answer (env.sh outlives `down.sh`). */
export async function requireTestbed(): Promise<Testbed> {
  const testbed = loadTestbed();
  for (const host of [testbed.host1, testbed.host2]) {
    const banner = await sshBanner(host, testbed.port).catch((error: Error) => error.message);
    if (!banner.startsWith('SSH-')) {
      throw new Error(
        `the e2e testbed is not up: no sshd answers on ${host}:${testbed.port} (${banner}); run \`sudo bash tests/testbed/up.sh\``,
      );
    }
  }
  return testbed;
}

/** The first line an SSH server sends, or a rejection after 3 s. */
function sshBanner(host: string, port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port, timeout: 3000 });
    socket.once('data', (data) => {
      socket.destroy();
      resolve(data.toString('utf8').split('\n')[0] ?? '');
    });
    socket.once('timeout', () => {
      socket.destroy();
      reject(new Error('timed out'));
    });
    socket.once('error', reject);
  });
}

/**
 * Writes `<dir>/hosts.yaml` with the testbed's Docker host as alias `docker1` (the default host),
 * for tests that go through the hosts file; returns its path.
 */
export function writeTestbedHostsFile(testbed: Testbed, dir: string): string {
  const path = join(dir, 'hosts.yaml');
  writeFileSync(
    path,
    `default: docker1
hosts:
  docker1:
    address: ${testbed.host1}
    port: ${testbed.port}
    user: ${testbed.user}
    identity_file: ${testbed.key}
    known_hosts: ${testbed.knownHosts}
    base_dir: ${testbed.sandboxBase}
    capacity: 8
    labels: [docker]
`,
  );
  return path;
}
