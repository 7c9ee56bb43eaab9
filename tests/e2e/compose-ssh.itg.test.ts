import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, test } from 'vitest';
import { sandboxer } from './support/cli.js';
import { allSandboxLeftovers, containerLabels, projectResources } from './support/docker.js';
import { loadTestbed, type Testbed, writeTestbedHostsFile } from './support/testbed.js';

/**
 * ext.compose-ssh against the real OpenSSH server and Docker engine of tests/testbed, through the
 * real CLI: create → reach the stack through the reported address → destroy → nothing left; then
 * every fault and hostile input, each leaving nothing behind.
 */

const fixtures = join(import.meta.dirname, '..', 'fixtures');
let testbed: Testbed;
let env: Record<string, string>;

function setup(): Record<string, string> {
  const home = mkdtempSync(join(tmpdir(), 'sbx-e2e-home-'));
  const hostsFile = writeTestbedHostsFile(testbed, home);
  return { SANDBOXER_HOME: home, SANDBOXER_HOSTS: hostsFile, SANDBOXER_COMPOSE_CMD: 'docker-compose' };
}

/** Compose runtimes this machine has (the testbed lists them); the default `docker compose` first. */
const RUNTIMES = ['docker compose', 'docker-compose'];
function available(): string[] {
  return (testbed.env.SANDBOXER_TESTBED_COMPOSE_CMDS ?? '').split(',').filter(Boolean);
}

beforeAll(() => {
  testbed = loadTestbed();
  env = setup();
});

afterEach(() => {
  // Every test, passing or failing, must leave the testbed as clean as it found it.
  expect(allSandboxLeftovers([testbed.sandboxBase])).toEqual([]);
});

describe('ext.compose-ssh on the real testbed', () => {
  for (const runtime of RUNTIMES) {
    const isDefault = runtime === 'docker compose';
    const label = isDefault ? `the default compose command (${runtime})` : `SANDBOXER_COMPOSE_CMD=${runtime}`;

    test(`create → fetch over HTTP → destroy leaves nothing, with ${label}`, (context) => {
      if (!available().includes(runtime)) {
        // Said, not silently skipped: the run shows which runtimes were exercised.
        console.warn(
          `compose runtime "${runtime}" is not installed on this testbed (has: ${available().join(', ')}); skipped`,
        );
        context.skip();
      }
      const runEnv = isDefault
        ? { ...env, SANDBOXER_COMPOSE_CMD: '' }
        : { ...env, SANDBOXER_COMPOSE_CMD: runtime };
      const created = sandboxer(
        [
          'create',
          '-p',
          'compose-e2e',
          '-i',
          `repo=${join(fixtures, 'compose-http')}`,
          '--consumer',
          'e2e',
          '--json',
        ],
        runEnv,
      );
      expect(created.code, created.stderr).toBe(0);
      const record = created.json;
      expect(record).toMatchObject({
        state: 'ready',
        extension: 'ext.compose-ssh',
        host: 'docker1',
        reachability: {
          ssh: `ssh://${testbed.user}@${testbed.host1}:${testbed.port}`,
          remote_dir: `${testbed.sandboxBase}/sbx-${record.id}`,
          compose_project: `sbx-${record.id}`,
        },
      });
      const endpoint = record.reachability.endpoints['web:8080'] as string;
      expect(endpoint).toMatch(/^127\.0\.0\.1:\d+$/);
      const labels = containerLabels(record.id);
      expect(labels).toMatchObject({
        'dev.sandboxer.sandbox-id': record.id,
        'dev.sandboxer.managed': 'true',
        'dev.sandboxer.expires-at': record.expires_at,
      });
      return fetch(`http://${endpoint}/`)
        .then((response) => response.text())
        .then((body) => {
          expect(body).toContain('hello from sand-boxer');
          const destroyed = sandboxer(['destroy', record.id, '--json'], runEnv);
          expect(destroyed.code, destroyed.stderr).toBe(0);
          expect(destroyed.json.state).toBe('destroyed');
          expect(projectResources(record.id)).toEqual([]);
          expect(existsSync(record.reachability.remote_dir)).toBe(false);
        });
    });
  }

  test('with no key file, the keys of an ssh-agent log in: create (rsync too), exec, destroy', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sbx-agent-'));
    const socket = join(dir, 'agent.sock');
    const agent = spawnSync('ssh-agent', ['-a', socket], { encoding: 'utf8' });
    expect(agent.status, agent.stderr).toBe(0);
    const pid = /SSH_AGENT_PID=(\d+)/.exec(agent.stdout)?.[1];
    try {
      const added = spawnSync('ssh-add', [testbed.key], {
        env: { ...process.env, SSH_AUTH_SOCK: socket },
        encoding: 'utf8',
      });
      expect(added.status, added.stderr).toBe(0);
      const host = `${testbed.user}@${testbed.host1}:${testbed.port}`;
      // No hosts file, no identity file, no key text: only the agent.
      const agentEnv = {
        SANDBOXER_HOME: mkdtempSync(join(tmpdir(), 'sbx-e2e-home-')),
        SANDBOXER_HOSTS: '',
        SANDBOXER_SSH_KEY: '',
        SANDBOXER_COMPOSE_CMD: 'docker-compose',
        SSH_AUTH_SOCK: socket,
      };
      const args = ['--known-hosts', testbed.knownHosts];
      const created = sandboxer(
        [
          'create',
          '-p',
          'compose-e2e',
          '-i',
          `repo=${join(fixtures, 'compose-http')}`,
          '--host',
          host,
          ...args,
          '--json',
        ],
        agentEnv,
      );
      expect(created.code, created.stderr).toBe(0);
      const id = created.json.id as string;
      expect(readdirSync(created.json.reachability.remote_dir)).toContain('docker-compose.yml');
      // --json carries the create's phases, in order, ending at ready.
      const { timings } = created.json;
      const marks = ['accepted', 'connected', 'synced', 'up', 'ready'].map((p) => Date.parse(timings[p]));
      expect(marks.every((t, i) => Number.isFinite(t) && (i === 0 || t >= (marks[i - 1] as number)))).toBe(
        true,
      );
      expect(timings.ready).toBe(created.json.ready_at);
      const exec = sandboxer(['exec', id, ...args, '--', 'cat', 'docker-compose.yml'], agentEnv);
      expect(exec.code, exec.stderr).toBe(0);
      expect(sandboxer(['destroy', id, ...args], agentEnv).code).toBe(0);
      // Without the agent (and without a key) the create is refused before anything is recorded.
      const refused = sandboxer(
        [
          'create',
          '-p',
          'compose-e2e',
          '-i',
          `repo=${join(fixtures, 'compose-http')}`,
          '--host',
          host,
          ...args,
        ],
        { ...agentEnv, SSH_AUTH_SOCK: '' },
      );
      expect(refused.code).toBe(2);
      expect(refused.stderr).toContain(`no SSH key for ${host}`);
      expect(sandboxer(['list', '--all', '-q'], agentEnv).stdout).toBe(`${id}\n`);
    } finally {
      if (pid) process.kill(Number(pid));
    }
  });

  test('an explicit `docker compose` on a host without it fails clearly and leaves nothing', (context) => {
    if (available().includes('docker compose')) context.skip();
    const result = sandboxer(
      ['create', '-p', 'compose-e2e', '-i', `repo=${join(fixtures, 'compose-http')}`],
      { ...env, SANDBOXER_COMPOSE_CMD: 'docker compose' },
    );
    expect(result.code).toBe(4);
    expect(result.stderr).toMatch(
      /provision failed: compose up on sbxtest@127\.0\.0\.1:2222 failed \(exit \d+\)/,
    );
    // Not only Docker's cryptic answer: which setting chooses another runtime.
    expect(result.stderr).toContain('compose-command / SANDBOXER_COMPOSE_CMD');
  });

  test('a create opens one SSH connection, rsync included (it runs over a channel of it); a destroy opens one', () => {
    const log = testbed.env.SANDBOXER_TESTBED_SSHD_LOG1 as string;
    const logins = () => (readFileSync(log, 'utf8').match(/Accepted publickey for /g) ?? []).length;
    const before = logins();
    const created = sandboxer(
      ['create', '-p', 'compose-e2e', '-i', `repo=${join(fixtures, 'compose-http')}`, '--json'],
      env,
    );
    expect(created.code, created.stderr).toBe(0);
    const afterCreate = logins();
    expect(afterCreate - before).toBe(1);
    expect(sandboxer(['destroy', created.json.id], env).code).toBe(0);
    expect(logins() - afterCreate).toBe(1);
  });

  test("a service that ignores SIGTERM is killed after the short default grace (2 s), not Docker's 10 s", () => {
    const created = sandboxer(
      ['create', '-p', 'compose-e2e', '-i', `repo=${join(fixtures, 'compose-stubborn')}`, '--json'],
      env,
    );
    expect(created.code, created.stderr).toBe(0);
    expect(created.json.handle.stop_timeout).toBe(2);
    const started = Date.now();
    const destroyed = sandboxer(['destroy', created.json.id, '-v'], env);
    const seconds = (Date.now() - started) / 1000;
    expect(destroyed.code, destroyed.stderr).toBe(0);
    expect(destroyed.stderr).toMatch(/ down -v .*-t 2\n/);
    expect(projectResources(created.json.id)).toEqual([]);
    expect(seconds).toBeLessThan(9); // with 10 s it is ≥ 10 s
  });

  test('gc removes a sync cache unused for longer than --cache-max-age (default 14d); the next create starts it again', () => {
    // A repo of its own, so that its cache on the host is this test's alone.
    const repo = join(mkdtempSync(join(tmpdir(), 'sbx-e2e-prune-')), 'repo');
    cpSync(join(fixtures, 'compose-http'), repo, { recursive: true });
    const createAndDestroy = () => {
      const created = sandboxer(['create', '-p', 'compose-e2e', '-i', `repo=${repo}`, '--json'], env);
      expect(created.code, created.stderr).toBe(0);
      expect(sandboxer(['destroy', created.json.id], env).code).toBe(0);
    };
    createAndDestroy();
    const caches = join(testbed.sandboxBase, '.sandboxer-cache');
    const key = createHash('sha256').update(repo).digest('hex').slice(0, 16);
    const ofThisRepo = () => readdirSync(caches).filter((name) => name.startsWith(key));
    // The teardown's spare copy runs in the background: once it is in place, nothing else writes.
    for (let i = 0; i < 150 && !ofThisRepo().includes(`${key}.spare`); i++) spawnSync('sleep', ['0.2']);
    expect(ofThisRepo().sort()).toEqual([key, `${key}.lock`, `${key}.spare`]);
    const mine = (findings: Array<{ found: string }>) => findings.filter((f) => f.found.includes(key));

    expect(mine(sandboxer(['gc', '--dry-run', '--json'], env).json)).toEqual([]); // used just now
    // Last used 20 days ago: the lock's mtime, which every sync touches under the lock.
    execFileSync('touch', ['-d', '20 days ago', join(caches, `${key}.lock`)]);
    expect(mine(sandboxer(['gc', '--cache-max-age', '30d', '--json'], env).json)).toEqual([]);
    const gc = sandboxer(['gc', '--json'], env);
    expect(gc.code, gc.stderr).toBe(0);
    expect(mine(gc.json)).toEqual([
      {
        sandbox: '-',
        where: 'docker1',
        found: expect.stringMatching(new RegExp(`^sync cache ${caches}/${key} \\(\\d+\\.\\d MB\\)$`)),
        reason: expect.stringMatching(/^unused since \d{4}-.* \(over 14d\)$/),
        action: 'destroy',
        result: 'done',
      },
    ]);
    // The lock file stays (someone may be waiting on it); the cache and its spare are gone.
    expect(ofThisRepo()).toEqual([`${key}.lock`]);
    createAndDestroy();
    expect(ofThisRepo()).toContain(key);
    expect(sandboxer(['gc', '--cache-max-age', 'soon', '--json'], env).stderr).toMatch(
      /--cache-max-age "soon": expected a duration such as 14d, 12h or 90m/,
    );
  });

  test('an env input reaches compose verbatim and runs nothing', async () => {
    const marker = join(tmpdir(), `sbx-pwned-${process.pid}`);
    const greeting = `$(touch ${marker}); \`touch ${marker}\` 'quoted' "double" && touch ${marker}`;
    const created = sandboxer(
      [
        'create',
        '-p',
        'compose-e2e',
        '-i',
        `repo=${join(fixtures, 'compose-http')}`,
        '-i',
        `env=GREETING=${greeting}`,
        '--json',
      ],
      env,
    );
    expect(created.code, created.stderr).toBe(0);
    expect(containerLabels(created.json.id)['dev.test.greeting']).toBe(greeting);
    expect(existsSync(marker)).toBe(false);
    expect(sandboxer(['destroy', created.json.id], env).code).toBe(0);
  });

  test('the key can come as text in SANDBOXER_SSH_KEY and is never written to state or output', () => {
    const keyText = readFileSync(testbed.key, 'utf8');
    const { SANDBOXER_HOSTS: _hosts, ...noHosts } = env;
    const keyEnv: Record<string, string> = { ...noHosts, SANDBOXER_SSH_KEY: keyText };
    const args = [
      '--host',
      `${testbed.user}@${testbed.host1}:${testbed.port}`,
      '--known-hosts',
      testbed.knownHosts,
    ];
    const created = sandboxer(
      [
        'create',
        '-p',
        'compose-e2e',
        '-i',
        `repo=${join(fixtures, 'compose-http')}`,
        ...args,
        '--json',
        '-v',
      ],
      keyEnv,
    );
    expect(created.code, created.stderr).toBe(0);
    const destroyed = sandboxer(['destroy', created.json.id, '--json', '-v'], keyEnv);
    expect(destroyed.code, destroyed.stderr).toBe(0);
    const keyBody = keyText.split('\n')[1] as string;
    expect(keyBody.length).toBeGreaterThan(20);
    const stateDir = join(keyEnv.SANDBOXER_HOME as string, 'sandboxes');
    const written = readdirSync(stateDir).map((f) => readFileSync(join(stateDir, f), 'utf8'));
    for (const text of [created.stdout, created.stderr, destroyed.stdout, destroyed.stderr, ...written]) {
      expect(text).not.toContain(keyBody);
    }
  });
});

describe('ext.compose-ssh faults: a clear error and nothing left behind', () => {
  const create = (fixture: string, extra: string[] = [], extraEnv: Record<string, string> = {}) =>
    sandboxer(['create', '-p', 'compose-e2e', '-i', `repo=${join(fixtures, fixture)}`, ...extra, '--json'], {
      ...env,
      ...extraEnv,
    });

  /** The failed record: rolled back, nothing left over. */
  function expectRolledBack(result: ReturnType<typeof create>, step: string) {
    expect(result.code).toBe(4);
    expect(result.json.error.code).toBe('PROVISION_FAILED');
    const id = result.json.error.details.sandbox as string;
    const record = sandboxer(['status', id, '--json'], env).json;
    expect(record).toMatchObject({ state: 'failed', error: { step } });
    expect(record.cleanup.leftovers).toEqual([]);
    expect(projectResources(id)).toEqual([]);
  }

  test('a broken compose file', () => {
    const result = create('compose-broken');
    expect(result.stderr).toMatch(
      /provision failed: compose up on sbxtest@127\.0\.0\.1:2222 failed \(exit 1\)/,
    );
    expect(result.stderr).toMatch(/ports/);
    expectRolledBack(result, 'provision');
  });

  test('compose up failing', () => {
    const result = create('compose-up-fails');
    expect(result.stderr).toMatch(
      /provision failed: compose up on sbxtest@127\.0\.0\.1:2222 failed \(exit 1\)/,
    );
    expect(result.stderr).toContain('sandboxer-no-such-container');
    expectRolledBack(result, 'provision');
  });

  test('a service that never becomes ready: the error carries a capped tail of its log', () => {
    const result = create('compose-never-ready', ['-i', 'wait_timeout=6']);
    expect(result.stderr).toMatch(
      /wait_ready failed: services not ready after 6 s \(wait_timeout\): web \(running, (starting|unhealthy)\)/,
    );
    // The probe's own results (issue 21), then the log.
    expect(result.stderr).toContain('--- web: last health checks ---');
    expect(result.stderr).toContain('--- web: last 20 log lines ---');
    expect(result.stderr).toContain('still not healthy');
    // The service logged a 5 MB line; the message keeps only a bounded tail of it.
    expect(result.stderr.length).toBeLessThan(20_000);
    expectRolledBack(result, 'wait_ready');
  });

  test('a service that exits fails fast instead of waiting out the timeout', () => {
    const started = Date.now();
    const result = create('compose-exits', ['-i', 'wait_timeout=120']);
    expect(Date.now() - started).toBeLessThan(60_000);
    expect(result.stderr).toMatch(/services stopped: web \(exited 3\)/);
    expect(result.stderr).toContain('config missing');
    expectRolledBack(result, 'wait_ready');
  });

  test.each([
    [
      'sshd unreachable',
      ['--host', 'sbxtest@127.0.0.9:2222', '--known-hosts', 'KNOWN'],
      /cannot reach 127\.0\.0\.9:2222: connection refused/,
    ],
    [
      'a wrong key',
      ['--host', 'sbxtest@127.0.0.1:2222', '--identity-file', 'WRONG', '--known-hosts', 'KNOWN'],
      /sbxtest@127\.0\.0\.1:2222 refused the SSH key \(permission denied\)/,
    ],
    [
      'a host key that does not match',
      ['--host', 'sbxtest@127.0.0.1:2222', '--known-hosts', 'BAD'],
      /host key of 127\.0\.0\.1:2222 does not match .*known_hosts\.bad/,
    ],
  ])('%s', (_name, rawArgs, message) => {
    const args = rawArgs.map((a) =>
      a === 'KNOWN'
        ? testbed.knownHosts
        : a === 'WRONG'
          ? testbed.wrongKey
          : a === 'BAD'
            ? testbed.knownHostsBad
            : a,
    );
    const { SANDBOXER_HOSTS: _hosts, ...noHosts } = env;
    const result = sandboxer(
      [
        'create',
        '-p',
        'compose-e2e',
        '-i',
        `repo=${join(fixtures, 'compose-http')}`,
        '--identity-file',
        testbed.key,
        ...args,
        '--json',
      ],
      noHosts,
    );
    expect(result.code).toBe(4);
    expect(result.stderr).toMatch(message);
    const record = sandboxer(['status', result.json.error.details.sandbox, '--json'], noHosts).json;
    // The connection never opened, so nothing was made and nothing needed rolling back.
    expect(record).toMatchObject({ state: 'failed', cleanup: { leftovers: [], already_gone: true } });
  });
});

describe('hostile inputs against the real server: refused before anything is made', () => {
  test.each([
    [
      'a service name with a command in it',
      ['-i', 'services=web; rm -rf ~'],
      /input "services": "web; rm -rf ~" is not a service name/,
    ],
    ['a compose file outside the sandbox', ['-i', 'compose_files=../../etc/passwd'], /resolves outside/],
    ['an env key that is not a name', ['-i', 'env=$(touch /tmp/x)=1'], /input "env": expected KEY=VALUE/],
    [
      'a host with a command in it',
      ['--host', 'sbxtest@127.0.0.1;touch /tmp/pwned'],
      /--host "sbxtest@127\.0\.0\.1;touch \/tmp\/pwned": not a destination/,
    ],
    [
      'a repo that is not a directory',
      ['-i', 'repo=$(touch /tmp/pwned)'],
      /input "repo": .* is not a directory/,
    ],
    [
      'a non-numeric wait timeout',
      ['-i', 'wait_timeout=5; reboot'],
      /input "wait_timeout": must be a whole number of seconds/,
    ],
  ])('%s', (_name, args, message) => {
    const home = mkdtempSync(join(tmpdir(), 'sbx-e2e-hostile-'));
    // An input may be given once: the case about `repo` replaces the fixture's.
    const repo = args.some((a) => a.startsWith('repo='))
      ? []
      : ['-i', `repo=${join(fixtures, 'compose-http')}`];
    const result = sandboxer(['create', '-p', 'compose-e2e', ...repo, ...args], {
      ...env,
      SANDBOXER_HOME: home,
    });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(existsSync('/tmp/pwned')).toBe(false);
    mkdirSync(join(home, 'sandboxes'), { recursive: true });
    expect(readdirSync(join(home, 'sandboxes'))).toEqual([]);
  });
});
