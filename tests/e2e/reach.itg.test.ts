import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import {
  type ActionJob,
  BUNDLE,
  newJob,
  parseCommandFile,
  runStep,
  type StepOptions,
  startStep,
} from './support/action-runner.js';
import { CLI, sandboxer } from './support/cli.js';
import { type CutProxy, proxyKnownHosts, startCutProxy } from './support/cut-proxy.js';
import { allSandboxLeftovers, projectResources } from './support/docker.js';
import { type RunnerNamespace, startRunnerNamespace } from './support/runner-netns.js';
import { type ServerProcess, startServe } from './support/server.js';
import { loadTestbed, type Testbed } from './support/testbed.js';
import {
  actionInputs,
  documentedSteps,
  type ExpressionContext,
  expand,
  stepEnv,
  type WorkflowStep,
} from './support/workflow.js';

/**
 * Issue 16: the job reaches its stack. The action's steps run as the runner runs them — main, each
 * later `run:` step as its own process, post — but as an unprivileged user inside a network
 * namespace whose only way to the host is SSH to 10.203.0.1 (support/runner-netns.ts), so nothing
 * can work by reaching the host's 127.0.0.1. Then exec, logs, ssh, forward and wait-for from the
 * CLI (and exec/logs over HTTP) against the real sshd and dockerd.
 */

const root = join(import.meta.dirname, '..', '..');
const FIXTURE = join(root, 'tests', 'fixtures', 'compose-reach');
let testbed: Testbed;
let ns: RunnerNamespace;
let keyText: string;
/** The committed bundle, copied where the runner user can read it (the checkout may be under /root). */
let bundle: string;
let bundleDir: string | undefined;

beforeAll(async () => {
  testbed = loadTestbed();
  keyText = readFileSync(testbed.key, 'utf8');
  ns = await startRunnerNamespace(testbed);
  // In the runner's home, not under the run's artifacts: ssh2's code holds key-header strings that
  // the secret scan would rightly flag anywhere else.
  bundleDir = mkdtempSync(join(ns.home, 'bundle-'));
  cpSync(join(BUNDLE, '..'), bundleDir, { recursive: true });
  spawnSync('chmod', ['-R', 'a+rX', bundleDir]);
  bundle = join(bundleDir, 'index.js');
});

afterAll(() => {
  ns?.close();
  if (bundleDir) rmSync(bundleDir, { recursive: true, force: true });
});

const defaultBase = () => `/home/${testbed.user}/sandboxer`;

/** Nothing of any sandbox is left on the host (containers, networks, volumes, directories). */
const expectNoLeftovers = () => expect(allSandboxLeftovers([testbed.sandboxBase, defaultBase()])).toEqual([]);

/** A job of the runner user: a checkout of the fixture and the runner's files, all its own. */
function runnerJob(): ActionJob {
  const workspace = join(ns.ownedDir('sbx-checkout-'), 'repo');
  cpSync(FIXTURE, workspace, { recursive: true });
  const job = newJob(workspace);
  spawnSync('chown', ['-R', `${ns.uid}:${ns.gid}`, job.dir, workspace]);
  return job;
}

/** Steps run inside the namespace, as the runner user, from the copied bundle. */
const inNamespace: StepOptions = { wrap: ([node]) => ns.wrap([node as string, bundle]) };

function runnerEnv(job: ActionJob, extra: Record<string, string> = {}): Record<string, string> {
  return { HOME: ns.home, USER: ns.user, TMPDIR: job.dir, ...extra };
}

function context(): ExpressionContext {
  return {
    vars: {
      SANDBOX_HOST: `${testbed.user}@${ns.hostAddress}:${ns.sshPort}`,
      SANDBOX_KNOWN_HOSTS: ns.knownHostsLine,
      // Debian's Compose v1 on the testbed host.
      SANDBOX_COMPOSE_COMMAND: 'docker-compose',
    },
    secrets: { SANDBOX_SSH_KEY: keyText },
    steps: {},
  };
}

/** A `run:` step as its own process in the namespace: bash -eo pipefail, in the workspace. */
function runScript(
  step: WorkflowStep,
  ctx: ExpressionContext,
  job: ActionJob,
  env: Record<string, string> = {},
) {
  return ns.sh(`cd "$GITHUB_WORKSPACE"\n${expand(step.run as string, ctx)}`, {
    ...stepEnv(step, ctx),
    GITHUB_WORKSPACE: job.workspace,
    RUNNER_TEMP: job.dir,
    TMPDIR: job.dir,
    ...env,
  });
}

/** Processes in the namespace that are the keeper of this sandbox. */
function keepersOf(id: string): number[] {
  const pids = spawnSync('ip', ['netns', 'pids', ns.name], { encoding: 'utf8' })
    .stdout.split('\n')
    .filter(Boolean);
  return pids.map(Number).filter((pid) => {
    try {
      const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      return argv.includes('--keeper') && argv.includes(id);
    } catch {
      return false;
    }
  });
}

/** After post: the forward refuses, no keeper, the runner's ssh files and Include gone. */
function expectJobAccessGone(id: string, outputs: Record<string, string>): void {
  if (outputs.url) {
    const refused = ns.sh(`curl -sS -m 5 ${outputs.url}/`);
    expect(refused.code, refused.stderr).toBe(7); // curl: could not connect
  }
  expect(keepersOf(id)).toEqual([]);
  if (outputs['ssh-config']) expect(existsSync(outputs['ssh-config'])).toBe(false);
  const userConfig = join(ns.home, '.ssh', 'config');
  if (existsSync(userConfig)) expect(readFileSync(userConfig, 'utf8')).not.toContain(id);
  expect(projectResources(id)).toEqual([]);
}

function sbxStep(steps: WorkflowStep[]): WorkflowStep {
  return steps.find((s) => s.uses?.startsWith('coulomb/sand-boxer@')) as WorkflowStep;
}

describe('the documented workflow, run by a runner that can reach the host only over SSH', () => {
  afterEach(expectNoLeftovers);
  test('docs/github-action.md: main forwards, the test steps reach the stack, post stops and tears down', async () => {
    const steps = documentedSteps(join(root, 'docs', 'github-action.md'));
    const ctx = context();
    const job = runnerJob();
    const inputs = actionInputs(sbxStep(steps), ctx);
    const main = await runStep(job, 'main', inputs, runnerEnv(job), inNamespace);
    expect(main.code, main.stdout + main.stderr).toBe(0);
    const outputs = parseCommandFile(job.outputFile);
    ctx.steps.sbx = outputs;
    const id = outputs['sandbox-id'] as string;
    expect(JSON.parse(outputs.urls as string)).toEqual({
      'web:8080': expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+$/),
      'db:5432': expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+$/),
    });
    expect(outputs.url).toBe(JSON.parse(outputs.urls as string)['web:8080']);
    expect(outputs['docker-host']).toBe(`ssh://sbx-${id}`);
    expect(main.stdout).toContain('checking http://web:8080/health, tcp://db:5432');

    // No cheating: the ports Docker published are on the host's loopback, unreachable from here.
    const published = JSON.parse(outputs.reachability as string).endpoints['web:8080'] as string;
    expect(published).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(ns.sh(`curl -sS -m 3 http://${published}/`).code).not.toBe(0);
    expect(ns.sh(`curl -sS -m 3 http://${published.replace('127.0.0.1', ns.hostAddress)}/`).code).not.toBe(0);

    // Each later step is its own process, after main has exited.
    const [tests, inside] = steps.filter((s) => s.run).map((step) => runScript(step, ctx, job));
    expect(tests?.code, tests?.stderr).toBe(0);
    expect(tests?.stdout).toBe('hello from sand-boxer\n');
    expect(inside?.code, inside?.stderr).toBe(0);
    for (const service of ['web', 'db', 'worker']) expect(inside?.stdout).toContain(`sbx-${id}_${service}_1`);
    expect(inside?.stdout).toMatch(/load average/);
    // The runner's key copy is private to it.
    const keyFile = join(job.dir, `sandboxer-ssh-${id}`, 'key');
    expect(spawnSync('stat', ['-c', '%a %u', keyFile], { encoding: 'utf8' }).stdout.trim()).toBe(
      `600 ${ns.uid}`,
    );

    const post = await runStep(job, 'post', inputs, runnerEnv(job), inNamespace);
    expect(post.code, post.stdout).toBe(0);
    expect(post.stdout).toMatch(/stopped the port forwarder \(pid \d+\)/);
    expect(post.stdout.indexOf('stopped the port forwarder')).toBeLessThan(
      post.stdout.indexOf('tearing down'),
    );
    expectJobAccessGone(id, outputs);
    expect(existsSync(keyFile)).toBe(false);
  });

  test('the README snippet works as it is (compose runtime from a job-level SANDBOXER_COMPOSE_CMD)', async () => {
    const steps = documentedSteps(join(root, 'README.md'));
    const ctx = context();
    const job = runnerJob();
    const inputs = actionInputs(sbxStep(steps), ctx);
    const jobEnv = runnerEnv(job, { SANDBOXER_COMPOSE_CMD: 'docker-compose' });
    const main = await runStep(job, 'main', inputs, jobEnv, inNamespace);
    expect(main.code, main.stdout + main.stderr).toBe(0);
    ctx.steps.sbx = parseCommandFile(job.outputFile);
    const [tests] = steps.filter((s) => s.run).map((step) => runScript(step, ctx, job));
    expect(tests?.stdout).toBe('hello from sand-boxer\n');
    expect((await runStep(job, 'post', inputs, jobEnv, inNamespace)).code).toBe(0);
    expectJobAccessGone(ctx.steps.sbx['sandbox-id'] as string, ctx.steps.sbx);
  });

  test('a failing test step: post still stops the forwarder and tears down', async () => {
    const steps = documentedSteps(join(root, 'docs', 'github-action.md'));
    const ctx = context();
    const job = runnerJob();
    const inputs = actionInputs(sbxStep(steps), ctx);
    expect((await runStep(job, 'main', inputs, runnerEnv(job), inNamespace)).code).toBe(0);
    const outputs = parseCommandFile(job.outputFile);
    ctx.steps.sbx = outputs;
    const failing = runScript(
      { env: { BASE_URL: outputs.url as string }, run: 'curl -fsS "$BASE_URL/missing"' },
      ctx,
      job,
    );
    expect(failing.code).toBe(22); // curl -f: HTTP 404 — the stack answered, the test failed
    const post = await runStep(job, 'post', inputs, runnerEnv(job), inNamespace);
    expect(post.code).toBe(0);
    expectJobAccessGone(outputs['sandbox-id'] as string, outputs);
  });

  test('a main step cancelled as the forwarder starts: post stops whatever was started and tears down', async () => {
    const steps = documentedSteps(join(root, 'docs', 'github-action.md'));
    const job = runnerJob();
    const inputs = actionInputs(sbxStep(steps), context());
    const main = startStep(job, 'main', inputs, runnerEnv(job), inNamespace);
    let out = '';
    main.child.stdout?.on('data', (chunk) => {
      out += chunk;
      if (out.includes('forwarding web:8080, db:5432')) main.child.kill('SIGINT');
    });
    const ended = await main.done;
    expect(ended.code).toBe(1);
    expect(ended.stdout).toContain('cancelled (SIGINT)');
    const saved = JSON.parse(parseCommandFile(job.stateFile)['sandbox-record'] as string);
    const post = await runStep(job, 'post', inputs, runnerEnv(job), inNamespace);
    expect(post.code).toBe(0);
    expect(post.stdout).toContain(`sandbox ${saved.id} destroyed`);
    expectJobAccessGone(saved.id, {});
  });
});

/** A compose-reach sandbox on the testbed, made with the CLI. */
function cliEnv(home = mkdtempSync(join(tmpdir(), 'sbx-reach-'))): Record<string, string> {
  return {
    SANDBOXER_HOME: home,
    SANDBOXER_COMPOSE_CMD: 'docker-compose',
    SANDBOXER_SSH_KEY: keyText,
  };
}

function hostArgs(port = testbed.port, knownHosts = testbed.knownHosts): string[] {
  return ['--host', `${testbed.user}@${testbed.host1}:${port}`, '--known-hosts', knownHosts];
}

/** `create` of a compose-reach sandbox on the testbed (through `host`, by default directly). */
function createArgs(host = hostArgs(), extra: string[] = []): string[] {
  return ['create', '--profile', 'compose-e2e', '--input', `repo=${FIXTURE}`, ...host, '--json', ...extra];
}

function createStack(env: Record<string, string>, host = hostArgs(), extra: string[] = []): string {
  const created = sandboxer(createArgs(host, extra), env);
  expect(created.code, created.stderr).toBe(0);
  return created.json.id as string;
}

describe('exec, logs and ssh against the real host', () => {
  let env: Record<string, string>;
  let id: string;
  beforeAll(() => {
    env = cliEnv();
    id = createStack(env, hostArgs(), ['--wait-for', 'log://worker/ready to accept/']);
  });
  afterAll(() => {
    sandboxer(['destroy', id], env);
    expectNoLeftovers();
  });

  /** Arguments no shell may interpret: quotes, $, ;, newlines, globs, an option-looking word. */
  const hostile = [
    'a "quoted" word',
    "it's",
    '$HOME $(id)',
    'x; touch pwned',
    'two\nlines',
    '*',
    '--help',
    '',
  ];

  test("in the workspace: the command's output and exit code; arguments arrive as given", () => {
    const listed = sandboxer(['exec', id, '--', 'ls'], env);
    expect(listed.code).toBe(0);
    expect(listed.stdout.split('\n')).toContain('docker-compose.yml');
    const echoed = sandboxer(
      ['exec', id, '--', 'sh', '-c', 'printf "<%s>\\n" "$@"; exit 3', 'sh', ...hostile],
      env,
    );
    expect(echoed.code).toBe(3);
    expect(echoed.stdout).toBe(hostile.map((a) => `<${a}>\n`).join(''));
    expect(sandboxer(['exec', id, '--', 'ls'], env).stdout).not.toContain('pwned');
  });

  test('in a service (--service): the same, inside its container; stdin is passed on', () => {
    const echoed = sandboxer(
      ['exec', id, '--service', 'web', '--', 'sh', '-c', 'printf "<%s>\\n" "$@"; exit 4', 'sh', ...hostile],
      env,
    );
    expect(echoed.code).toBe(4);
    expect(echoed.stdout).toBe(hostile.map((a) => `<${a}>\n`).join(''));
    const hostname = sandboxer(['exec', id, '--service', 'web', '--', 'cat', '/srv/health'], env);
    expect(hostname.stdout).toBe('ok\n');
    const piped = spawnSync(process.execPath, [CLI, 'exec', id, '--service', 'worker', '--', 'wc', '-c'], {
      env: { ...process.env, ...env },
      input: 'twelve bytes',
      encoding: 'utf8',
    });
    expect(piped.stdout.trim()).toBe('12');
    const none = sandboxer(['exec', id, '--service', 'nope', '--', 'true'], env);
    expect(none.code).toBe(127);
    expect(none.stderr).toContain('no running container of service nope');
  });

  test('Ctrl-C stops the remote command and everything it started (exit 130)', async () => {
    const marker = `sleep-${Date.now() % 100_000}`;
    const running = spawn(
      process.execPath,
      [CLI, 'exec', id, '--', 'sh', '-c', `sh -c "sleep 300; echo ${marker}" & wait`],
      {
        env: { ...process.env, ...env },
      },
    );
    const hostProcesses = () =>
      spawnSync('ps', ['-u', testbed.user, '-o', 'args='], { encoding: 'utf8' })
        .stdout.split('\n')
        .filter((l) => l.includes(marker));
    const deadline = Date.now() + 15_000;
    while (hostProcesses().length === 0 && Date.now() < deadline) await sleep(100);
    expect(hostProcesses().length).toBeGreaterThan(0);
    const code = new Promise((resolve) => running.once('close', resolve));
    running.kill('SIGINT');
    expect(await code).toBe(130);
    for (let i = 0; i < 50 && hostProcesses().length > 0; i++) await sleep(100);
    expect(hostProcesses()).toEqual([]);
  });

  test('logs: every line prefixed with its service; a service picked; --json', () => {
    const all = sandboxer(['logs', id], env);
    expect(all.code).toBe(0);
    expect(all.stdout).toContain('worker | ready to accept jobs\n');
    const worker = sandboxer(['logs', id, 'worker', '--tail', '1', '--json'], env);
    expect(worker.json).toEqual([{ service: 'worker', text: 'ready to accept jobs\n' }]);
  });

  test('logs --follow streams new lines until stopped', async () => {
    const follow = spawn(process.execPath, [CLI, 'logs', id, 'web', '--follow', '--tail', '0'], {
      env: { ...process.env, ...env },
    });
    let out = '';
    follow.stdout.on('data', (chunk) => {
      out += chunk;
    });
    await sleep(1500);
    sandboxer(
      ['exec', id, '--service', 'web', '--', 'wget', '-q', '-O', '/dev/null', 'http://127.0.0.1:8080/health'],
      env,
    );
    const deadline = Date.now() + 15_000;
    while (!out.includes('response:200') && Date.now() < deadline) await sleep(200);
    const code = new Promise((resolve) => follow.once('close', resolve));
    follow.kill('SIGINT');
    expect(await code).toBe(0);
    expect(out).toMatch(/^web \| .*response:200/m);
  });

  test('ssh -- cmd: in the sandbox directory, with the verified host key; its exit code', () => {
    const pwd = sandboxer(['ssh', id, '--', 'sh', '-c', 'pwd; exit 5'], env);
    expect(pwd.code).toBe(5);
    expect(pwd.stdout.trim()).toMatch(new RegExp(`/sbx-${id}$`));
  });

  test('over HTTP: POST /exec answers with the exit code and output; GET /logs', async () => {
    const token = 'reach-e2e-token-0123456789';
    const server: ServerProcess = await startServe({ ...env, SANDBOXER_API_TOKENS: token });
    try {
      const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
      const response = await server.fetch(`/v1/sandboxes/${id}/exec`, {
        method: 'POST',
        headers,
        body: JSON.stringify({
          argv: ['sh', '-c', 'printf "<%s>\\n" "$@"; echo err >&2; exit 6', 'sh', ...hostile],
        }),
      });
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({
        exit_code: 6,
        stdout: hostile.map((a) => `<${a}>\n`).join(''),
        stderr: 'err\n',
        stdout_truncated: false,
        stderr_truncated: false,
        timed_out: false,
      });
      const inService = await server.fetch(`/v1/sandboxes/${id}/exec`, {
        method: 'POST',
        headers,
        body: JSON.stringify({ argv: ['cat'], service: 'web', stdin: 'from the body\n' }),
      });
      expect(((await inService.json()) as { stdout: string }).stdout).toBe('from the body\n');
      const logs = await server.fetch(`/v1/sandboxes/${id}/logs?service=worker`, { headers });
      expect(logs.headers.get('content-type')).toMatch(/^text\/plain/);
      expect(await logs.text()).toContain('worker | ready to accept jobs\n');
      const unauthenticated = await server.fetch(`/v1/sandboxes/${id}/exec`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ argv: ['true'] }),
      });
      expect(unauthenticated.status).toBe(401);
    } finally {
      await server.stop();
    }
  });
});

describe('forward --detach over a connection that drops', () => {
  let proxy: CutProxy | undefined;
  afterAll(async () => {
    await proxy?.close();
    expectNoLeftovers();
  });

  test('the keeper reconnects by itself within seconds; destroy stops it', async () => {
    proxy = await startCutProxy(testbed.host1, testbed.port);
    const knownHosts = proxyKnownHosts(testbed.knownHosts, testbed.host1, testbed.port, proxy.port);
    const env = cliEnv();
    const id = createStack(env, hostArgs(proxy.port, knownHosts));
    const started = sandboxer(['forward', id, 'web:8080', '--detach', '--json'], env);
    expect(started.code, started.stderr).toBe(0);
    const url = started.json.urls['web:8080'] as string;
    expect(await (await fetch(url)).text()).toBe('hello from sand-boxer\n');

    const cut = await proxy.cut({ reset: true });
    expect(cut).toBeGreaterThanOrEqual(1);
    const since = Date.now();
    let answered = '';
    while (Date.now() - since < 15_000) {
      answered = await fetch(url)
        .then((r) => r.text())
        .catch(() => '');
      if (answered) break;
      await sleep(100);
    }
    const seconds = (Date.now() - since) / 1000;
    process.stdout.write(
      `forward --detach: answering again ${seconds.toFixed(1)} s after the connection was cut\n`,
    );
    expect(answered).toBe('hello from sand-boxer\n');
    expect(seconds).toBeLessThan(10);
    const log = readFileSync(join(env.SANDBOXER_HOME as string, 'keepers', `${id}.log`), 'utf8');
    expect(log).toMatch(/(forward|connection): reconnected/);

    const record = sandboxer(['status', id, '--json'], env).json;
    expect(record.keeper).toMatchObject({ pid: started.json.pid, forwards: { 'web:8080': url } });
    expect(sandboxer(['destroy', id], env).code).toBe(0);
    await expect(fetch(url)).rejects.toThrow();
  });
});

describe('wait-for', () => {
  afterEach(expectNoLeftovers);
  test('an HTTP path that never answers 2xx fails with its last error and rolls back', () => {
    const env = cliEnv();
    const created = sandboxer(
      createArgs(hostArgs(), [
        '--input',
        'wait_timeout=5',
        '--wait-for',
        'http://web:8080/nope',
        '--wait-for',
        'tcp://db:5432',
      ]),
      env,
    );
    expect(created.code).toBe(4);
    expect(created.json.error.message).toMatch(
      /readiness checks failed after 5 s: http:\/\/web:8080\/nope: HTTP 404 \(rolled back/,
    );
    const failed = sandboxer(['list', '--all', '--json'], env).json[0];
    expect(failed).toMatchObject({ state: 'failed' });
    expect(projectResources(failed.id)).toEqual([]);
  });
});
