import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, test } from 'vitest';
import { type ActionJob, newJob, parseCommandFile, runStep, startStep } from './support/action-runner.js';
import { CLI } from './support/cli.js';
import { allSandboxLeftovers, projectResources } from './support/docker.js';
import { loadTestbed, type Testbed } from './support/testbed.js';

/**
 * The committed action bundle (actions/sandbox/dist), run as the runner runs it: main with INPUT_*
 * and the command files, then post as a new process with STATE_* from the state file.
 */

const root = join(import.meta.dirname, '..', '..');
const fixtures = join(root, 'tests', 'fixtures');
let testbed: Testbed;
let keyText: string;
let knownHosts: string;

beforeAll(() => {
  testbed = loadTestbed();
  keyText = readFileSync(testbed.key, 'utf8');
  knownHosts = readFileSync(testbed.knownHosts, 'utf8');
});

/** Inline hosts (no hosts file) use the default base directory, ~/sandboxer of the SSH user. */
const defaultBase = () => `/home/${testbed.user}/sandboxer`;

afterEach(() => {
  expect(allSandboxLeftovers([testbed.sandboxBase, defaultBase()])).toEqual([]);
});

/** The inputs a workflow passes for the compose stack on the testbed host. */
function composeInputs(fixture: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    profile: 'compose-e2e',
    inputs: `repo=${join(fixtures, fixture)}\n`,
    host: testbed.host1,
    'ssh-user': testbed.user,
    'ssh-port': String(testbed.port),
    'ssh-key': keyText,
    'known-hosts': knownHosts,
    'compose-command': 'docker-compose',
    ...extra,
  };
}

/**
 * Everything the runner keeps from a job: logs, state, outputs, summary. `::add-mask::` lines are
 * left out: they are the masking command itself, consumed by the runner and never shown in a log.
 */
function everythingWritten(job: ActionJob, ...logs: Array<{ stdout: string; stderr: string }>): string[] {
  const shown = (text: string) =>
    text
      .split('\n')
      .filter((line) => !line.startsWith('::add-mask::'))
      .join('\n');
  return [
    ...logs.flatMap((l) => [shown(l.stdout), l.stderr]),
    readFileSync(job.stateFile, 'utf8'),
    readFileSync(job.outputFile, 'utf8'),
    readFileSync(job.summaryFile, 'utf8'),
  ];
}

function keyBody(): string {
  return keyText.split('\n')[1] as string;
}

describe('the action on the embedded default (saas-stub)', () => {
  test('main creates, outputs are written, post destroys and writes the summary', async () => {
    const job = newJob(root);
    const main = await runStep(job, 'main', {
      profile: 'saas-stub',
      inputs: 'repo=tests/fixtures/sample-repo',
    });
    expect(main.code, main.stdout).toBe(0);
    const outputs = parseCommandFile(job.outputFile);
    expect(outputs['sandbox-id']).toMatch(/^[a-z0-9]{12}$/);
    expect(outputs['cost-estimate']).toBe('15');
    expect(existsSync(join(outputs['remote-dir'] as string, 'README.md'))).toBe(true);
    expect(JSON.parse(outputs.reachability as string)).toMatchObject({ host: 'local' });

    const post = await runStep(job, 'post', {
      profile: 'saas-stub',
      inputs: 'repo=tests/fixtures/sample-repo',
    });
    expect(post.code).toBe(0);
    expect(post.stdout).toContain(`sandbox ${outputs['sandbox-id']} destroyed`);
    expect(existsSync(outputs['remote-dir'] as string)).toBe(false);
    const summary = readFileSync(job.summaryFile, 'utf8');
    expect(summary).toContain('sand-boxer sandbox');
    expect(summary).toMatch(/<td>credits used<\/td><td>0\.5<\/td>/);
    expect(summary).toContain('<td>consumer</td><td>coulomb/example#4242.1/e2e</td>');

    // Running post twice is harmless.
    const again = await runStep(job, 'post', {
      profile: 'saas-stub',
      inputs: 'repo=tests/fixtures/sample-repo',
    });
    expect(again.code).toBe(0);
    expect(again.stdout).not.toContain('::warning::');
  });

  test.each([
    ['profile', { profile: 'nope', inputs: 'repo=.' }, /::error::unknown profile "nope" \(known: /],
    [
      'inputs',
      { profile: 'saas-stub', inputs: 'not a pair' },
      /::error::input "inputs", line 1: expected key=value/,
    ],
    [
      'ssh-port',
      { profile: 'saas-stub', inputs: 'repo=.', 'ssh-port': 'ssh' },
      /::error::input "ssh-port": expected a whole number/,
    ],
    [
      'cleanup',
      { profile: 'saas-stub', inputs: 'repo=.', cleanup: 'maybe' },
      /::error::input "cleanup": expected true or false, got "maybe"/,
    ],
    [
      'logs',
      { profile: 'saas-stub', inputs: 'repo=.', logs: 'sometimes' },
      /::error::input "logs": expected one of on-failure, always, never/,
    ],
  ])(
    'a bad %s input fails main with an error naming it; post has nothing to do',
    async (_name, inputs, message) => {
      const job = newJob(root);
      const main = await runStep(job, 'main', inputs);
      expect(main.code).toBe(1);
      expect(main.stdout).toMatch(message);
      const post = await runStep(job, 'post', inputs);
      expect(post.code).toBe(0);
      expect(post.stdout).toContain('the main step created no sandbox; nothing to clean up');
    },
  );
});

describe('the action with compose-ssh on the real testbed', () => {
  test('main → the stack answers through the outputs → post removes everything; the key never leaks', async () => {
    const job = newJob(root);
    const inputs = composeInputs('compose-http');
    const main = await runStep(job, 'main', inputs);
    expect(main.code, main.stdout + main.stderr).toBe(0);
    const outputs = parseCommandFile(job.outputFile);
    const id = outputs['sandbox-id'] as string;
    expect(outputs).toMatchObject({
      host: `${testbed.user}@${testbed.host1}:${testbed.port}`,
      ssh: `ssh://${testbed.user}@${testbed.host1}:${testbed.port}`,
      'remote-dir': `${defaultBase()}/sbx-${id}`,
      'compose-project': `sbx-${id}`,
      'cost-estimate': '0',
    });
    const endpoint = JSON.parse(outputs.reachability as string).endpoints['web:8080'];
    expect(await (await fetch(`http://${endpoint}/`)).text()).toContain('hello from sand-boxer');

    const post = await runStep(job, 'post', inputs);
    expect(post.code).toBe(0);
    expect(projectResources(id)).toEqual([]);
    expect(existsSync(`${defaultBase()}/sbx-${id}`)).toBe(false);
    const summary = readFileSync(job.summaryFile, 'utf8');
    for (const row of ['sandbox', 'profile', 'host', 'time to ready', 'teardown', 'credits used']) {
      expect(summary).toContain(`<td>${row}</td>`);
    }
    // Each phase of the create, time to ready (not to started).
    expect(summary).toMatch(
      /<td>ready in [\d.]+ s \(connected [\d.]+ s → synced [\d.]+ s → up [\d.]+ s → ready [\d.]+ s\)<\/td>/,
    );
    for (const text of everythingWritten(job, main, post)) expect(text).not.toContain(keyBody());
    expect(main.stdout).toContain('::add-mask::');
  });

  test.each([
    [
      'unreachable host',
      () => composeInputs('compose-http', { host: '127.0.0.9' }),
      /::error::sandbox [a-z0-9]{12}: provision failed: cannot reach 127\.0\.0\.9:2222: connection refused/,
    ],
    [
      'compose up fails',
      () => composeInputs('compose-up-fails'),
      /::error::sandbox [a-z0-9]{12}: provision failed: compose up on/,
    ],
    [
      'never ready',
      () => composeInputs('compose-never-ready', { 'wait-timeout': '5' }),
      /::error::sandbox [a-z0-9]{12}: wait_ready failed: services not ready after 5 s/,
    ],
  ])('main failing (%s) reports ::error:: and post leaves nothing', async (_name, makeInputs, message) => {
    // Built inside the test: the testbed is only known once beforeAll has run.
    const inputs = makeInputs();
    const job = newJob(root);
    const main = await runStep(job, 'main', inputs);
    expect(main.code).toBe(1);
    expect(main.stdout).toMatch(message);
    const post = await runStep(job, 'post', inputs);
    expect(post.code).toBe(0);
    expect(post.stdout).not.toContain('::warning::');
    for (const text of everythingWritten(job, main, post)) expect(text).not.toContain(keyBody());
  });

  test('the runner vanishes after main (its keeper killed, no post step): the lease ends the sandbox', async () => {
    const job = newJob(root);
    const inputs = composeInputs('compose-http', { lease: '20s' });
    const main = await runStep(job, 'main', inputs);
    expect(main.code, main.stdout + main.stderr).toBe(0);
    expect(main.stdout).toContain("lease 20s: renewed by the job's keeper");
    const record = JSON.parse(parseCommandFile(job.stateFile)['sandbox-record'] as string);
    expect(record.lease_seconds).toBe(20);
    const keeper = record.keeper.pid as number;
    // As a runner VM that is gone: every process of the job dies, post never runs.
    process.kill(keeper, 'SIGKILL');
    const killed = Date.now();
    const dir = `${defaultBase()}/sbx-${record.id}`;
    while ((projectResources(record.id).length > 0 || existsSync(dir)) && Date.now() - killed < 45_000) {
      await new Promise((r) => setTimeout(r, 500));
    }
    expect(projectResources(record.id)).toEqual([]);
    expect(existsSync(dir)).toBe(false);
    expect((Date.now() - killed) / 1000).toBeLessThan(20 + 15);
    // No sand-boxer process of this job is left anywhere.
    const left = spawnSync('pgrep', ['-f', '--', `--keeper ${record.id}`], {
      encoding: 'utf8',
    }).stdout.trim();
    expect(left).toBe('');
    // Had post run after all, it would find nothing to tear down and say the lease ended it.
    const post = await runStep(job, 'post', inputs);
    expect(post.code).toBe(0);
    expect(post.stdout).toContain(`sandbox ${record.id} ended by its lease`);
    expect(readFileSync(job.summaryFile, 'utf8')).toContain('ended by its lease');
  }, 90_000);

  test('a keeper alive for five leases keeps the sandbox; post ends it and says so', async () => {
    const job = newJob(root);
    const inputs = composeInputs('compose-http', { lease: '20s' });
    const main = await runStep(job, 'main', inputs);
    expect(main.code, main.stdout + main.stderr).toBe(0);
    const record = JSON.parse(parseCommandFile(job.stateFile)['sandbox-record'] as string);
    const dir = `${defaultBase()}/sbx-${record.id}`;
    // Five leases long (the 60 s lease for 5 minutes, at the 20 s minimum): only the
    // keeper's renewals can have kept it.
    await new Promise((r) => setTimeout(r, 100_000));
    expect(projectResources(record.id).length).toBeGreaterThan(0);
    expect(existsSync(dir)).toBe(true);
    const post = await runStep(job, 'post', inputs);
    expect(post.code).toBe(0);
    expect(post.stdout).toContain(`sandbox ${record.id} destroyed by the post step`);
    expect(readFileSync(job.summaryFile, 'utf8')).toContain('destroyed by the post step');
    expect(projectResources(record.id)).toEqual([]);
    const left = spawnSync('pgrep', ['-f', '--', `--keeper ${record.id}`], {
      encoding: 'utf8',
    }).stdout.trim();
    expect(left).toBe('');
  }, 150_000);

  test('main killed with SIGTERM mid-provision stops at once; post cleans up', async () => {
    const job = newJob(root);
    const inputs = composeInputs('compose-http');
    const { child, done } = startStep(job, 'main', inputs);
    await new Promise<void>((resolve) => {
      child.stdout?.on('data', (chunk: Buffer) => {
        if (chunk.toString().includes('up -d')) resolve();
      });
    });
    const signalled = Date.now();
    child.kill('SIGTERM');
    const main = await done;
    expect(Date.now() - signalled).toBeLessThan(2500);
    expect(main.stdout).toContain('cancelled (SIGTERM): the post step will tear down whatever was created');
    const saved = JSON.parse(parseCommandFile(job.stateFile)['sandbox-record'] as string);
    expect(saved.state).toBe('provisioning');

    const post = await runStep(job, 'post', inputs);
    expect(post.code).toBe(0);
    expect(post.stdout).toContain(`sandbox ${saved.id} destroyed`);
    expect(projectResources(saved.id)).toEqual([]);
  });

  test('cleanup: false keeps the sandbox and prints the command that destroys it; that command works', async () => {
    const job = newJob(root);
    const inputs = composeInputs('compose-http', { cleanup: 'false', logs: 'always' });
    const main = await runStep(job, 'main', inputs);
    expect(main.code).toBe(0);
    const id = parseCommandFile(job.outputFile)['sandbox-id'] as string;
    const post = await runStep(job, 'post', inputs);
    expect(post.code).toBe(0);
    expect(post.stdout).toContain('::group::sand-boxer: last 100 log lines of web');
    expect(projectResources(id).length).toBeGreaterThan(0);
    const command = /\n(npx -y @sand-boxer\/cli destroy [a-z0-9]{12} --record .*)$/m.exec(
      post.stdout.replaceAll('%0A', '\n'),
    )?.[1];
    expect(command).toBeDefined();

    // Run the printed command (the published CLI, here the one built from this checkout), with the
    // key from the environment as it says.
    const result = spawnSync(
      'bash',
      ['-c', (command as string).replace(/^npx -y @sand-boxer\/cli /, `node ${CLI} `)],
      {
        env: { ...process.env, SANDBOXER_HOME: join(job.dir, 'elsewhere'), SANDBOXER_SSH_KEY: keyText },
        encoding: 'utf8',
      },
    );
    expect(result.status, result.stderr).toBe(0);
    expect(projectResources(id)).toEqual([]);
    expect(readdirSync(defaultBase()).filter((n) => n === `sbx-${id}`)).toEqual([]);
  });
});

describe('action.yml', () => {
  test('the root action.yml is the package one with the paths pointing into actions/sandbox', () => {
    const inner = readFileSync(join(root, 'actions', 'sandbox', 'action.yml'), 'utf8');
    const outer = readFileSync(join(root, 'action.yml'), 'utf8')
      .split('\n')
      .filter((line) => !line.startsWith('#'))
      .join('\n')
      .replaceAll('actions/sandbox/dist/index.js', 'dist/index.js');
    expect(outer).toBe(inner);
  });
});
