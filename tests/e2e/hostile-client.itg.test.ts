import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  chownSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { CLI, sandboxer } from './support/cli.js';
import { allSandboxLeftovers, containerLabels } from './support/docker.js';
import { type ServerProcess, startServe } from './support/server.js';
import { loadTestbed, type Testbed, writeTestbedHostsFile } from './support/testbed.js';

/**
 * The hostile-client suite against a real `sandboxer serve` and the real testbed: each finding of
 * the security review (issue 15) reproduced as an attacker would, and shown to get nothing. The
 * in-process half (fuzzing every route, bounds, negative balances) is packages/server/test/hostile.test.ts.
 */

const fixtures = join(import.meta.dirname, '..', 'fixtures');
const TOKEN = 'hostile-e2e-token-0123456789';
const auth = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' };
let testbed: Testbed;
let env: Record<string, string>;
let home: string;
let root: string;
let server: ServerProcess;

async function call(method: string, path: string, body?: unknown, headers: Record<string, string> = auth) {
  const send = () =>
    server.fetch(path, {
      method,
      headers,
      ...(body === undefined ? {} : { body: body as string }),
    });
  // A pooled keep-alive connection the server closed while the CLI tests ran is retried once.
  const response = await send().catch((error: { cause?: { code?: string } }) => {
    if (error.cause?.code === 'UND_ERR_SOCKET') return send();
    throw error;
  });
  const text = await response.text();
  // biome-ignore lint/suspicious/noExplicitAny: the tests assert the shapes they read.
  let json: any = {};
  try {
    json = JSON.parse(text);
  } catch {
    // asserted by the caller
  }
  return { status: response.status, json, text };
}
const post = (path: string, body: unknown) => call('POST', path, JSON.stringify(body));

/**
 * POSTs `megabytes` of JSON-ish bytes to /v1/sandboxes on a connection of its own, with a
 * Content-Length or chunked; resolves the status, or `reset` when the server cut the connection
 * before the client read its answer (it refuses a body it will not read, while the client writes).
 */
function rawPost(megabytes: number, withLength: boolean): Promise<number | 'reset'> {
  const chunk = Buffer.alloc(1024 * 1024, 0x61);
  return new Promise((resolve, reject) => {
    const request = httpRequest(
      `${server.url}/v1/sandboxes`,
      {
        method: 'POST',
        agent: false,
        headers: {
          ...auth,
          ...(withLength ? { 'content-length': String(megabytes * chunk.length) } : {}),
        },
      },
      (response) => {
        response.resume();
        resolve(response.statusCode ?? 0);
        request.destroy();
      },
    );
    request.on('error', (error: NodeJS.ErrnoException) => {
      if (request.destroyed && error.code !== 'EPIPE' && error.code !== 'ECONNRESET') return;
      if (error.code === 'EPIPE' || error.code === 'ECONNRESET') resolve('reset');
      else reject(error);
    });
    let sent = 0;
    const write = () => {
      while (sent < megabytes && !request.destroyed) {
        sent += 1;
        if (!request.write(chunk)) return request.once('drain', write);
      }
      if (!request.destroyed) request.end();
    };
    write();
  });
}

function rssKiB(pid: number): number {
  return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
}

/** A compose repo for the testbed: the HTTP fixture plus whatever the test adds. */
function composeRepo(): string {
  const repo = mkdtempSync(join(tmpdir(), 'sbx-hostile-repo-'));
  cpSync(join(fixtures, 'compose-http'), repo, { recursive: true });
  return repo;
}

beforeAll(async () => {
  testbed = loadTestbed();
  home = mkdtempSync(join(tmpdir(), 'sbx-hostile-'));
  root = mkdtempSync(join(tmpdir(), 'sbx-hostile-root-'));
  mkdirSync(join(root, 'app'));
  writeFileSync(join(root, 'app', 'README.md'), 'inside the root\n');
  env = {
    SANDBOXER_HOME: home,
    SANDBOXER_HOSTS: writeTestbedHostsFile(testbed, home),
    SANDBOXER_COMPOSE_CMD: 'docker-compose',
    SANDBOXER_API_TOKENS: TOKEN,
  };
  server = await startServe(env, ['--repo-root', root]);
});

afterAll(async () => {
  await server?.stop();
  expect(allSandboxLeftovers([testbed.sandboxBase, '/root'])).toEqual([]);
});

describe('1: a client cannot pick the SSH host, user or a remote path', () => {
  test.each([
    [
      'vm as root@host:port, workspace_dir /root',
      { vm: `root@${testbed?.host1 ?? '127.0.0.1'}:2222`, workspace_dir: '/root' },
    ],
    ['ssh_target', { ssh_target: 'root@127.0.0.1:2222' }],
    ['workspace_dir alone', { vm: 'docker1', workspace_dir: '/root' }],
  ])('vm-haskell-build with %s: 400, and nothing is made on any host', async (_what, inputs) => {
    const response = await post('/v1/sandboxes', { profile: 'vm-haskell-build', inputs });
    expect(response.status).toBe(400);
    expect(response.json.code).toBe('INPUT_INVALID');
    expect(readdirSync('/root').filter((n) => n.startsWith('sbx-'))).toEqual([]);
    expect((await call('GET', '/v1/sandboxes?all=true')).json).toEqual([]);
  });

  test('compose-e2e on an inline host, and a restore onto one: 400', async () => {
    const create = await post('/v1/sandboxes', {
      profile: 'compose-e2e',
      inputs: { repo: 'app' },
      host: `${testbed.user}@${testbed.host1}:${testbed.port}`,
    });
    expect(create.status).toBe(400);
    expect(create.json.message).toMatch(/^"host": ".*" is not a hosts-file alias/);
    const restore = await post('/v1/snapshots/snap-aaaaaaaaaaaa/restore', { host: 'root@127.0.0.1' });
    expect([400, 404]).toContain(restore.status);
  });
});

describe('2: GET /v1/route is neither a port scanner nor a directory oracle', () => {
  test('an open and a closed port get the same refusal, before any connection', async () => {
    const route = (port: number) =>
      call(
        'GET',
        `/v1/route?profile=compose-e2e&input=repo%3Dapp&host=${encodeURIComponent(`x@127.0.0.1:${port}`)}`,
      );
    const open = await route(testbed.port);
    const closed = await route(1);
    expect(open.status).toBe(400);
    expect(closed.status).toBe(400);
    expect(open.json.message.replace(`:${testbed.port}`, ':P')).toBe(
      closed.json.message.replace(':1"', ':P"'),
    );
  });

  test('an existing directory, a missing one and a symlink out get the same refusal, naming no server path', async () => {
    symlinkSync('/etc', join(root, 'escape'));
    const answers = await Promise.all(
      ['/root/.ssh', '/no/such/dir', 'escape'].map((repo) =>
        call('GET', `/v1/route?profile=saas-stub&input=${encodeURIComponent(`repo=${repo}`)}`),
      ),
    );
    for (const [i, answer] of answers.entries()) {
      expect(answer.status).toBe(400);
      expect(answer.json.message).toBe(
        `input "repo": ${JSON.stringify(['/root/.ssh', '/no/such/dir', 'escape'][i])} is not a directory inside the repo root (set "repo" in the request's "inputs")`,
      );
      expect(answer.text).not.toContain(root);
      expect(answer.text).not.toContain(process.cwd());
    }
  });
});

describe('3: no body or field can exhaust the server', () => {
  test('a 200 MB body is refused with 413 and the server stays small', async () => {
    const before = rssKiB(server.child.pid as number);
    expect([413, 'reset']).toContain(await rawPost(200, true));
    // Streamed without a length: counted while it arrives, and cut off at the limit.
    expect([413, 'reset']).toContain(await rawPost(50, false));
    expect(rssKiB(server.child.pid as number) - before).toBeLessThan(64 * 1024);
    expect((await call('GET', '/healthz')).status).toBe(200);
  });

  test('grants with a huge note or an absurd amount are 400s naming the field; the ledger stays readable', async () => {
    for (const body of [{ amount: 1, note: 'n'.repeat(5000) }, { amount: 1e308 }, { amount: 1e300 }]) {
      const response = await post('/v1/credits/acct/grants', body);
      expect(response.status).toBe(400);
      expect(response.json.message).toMatch(/^invalid request: (note|amount): /);
      expect(response.text).not.toMatch(/"code":\s*"too_big"/);
    }
    expect((await post('/v1/credits/acct/grants', { amount: 5, note: 'fine' })).status).toBe(201);
    // A server's new account starts with nothing: only the grant of 5 is there.
    expect((await call('GET', '/v1/credits/acct')).json).toMatchObject({ balance: 5 });
  });
});

describe('4: the host-side sync cache never leaks a file the current filter leaves out', () => {
  test('repo A with config/secret.json, then B at the same path ignoring config/: B gets no secret', () => {
    const repo = composeRepo();
    mkdirSync(join(repo, 'config'));
    writeFileSync(join(repo, 'config', 'secret.json'), '{"token":"from-repo-a"}\n');
    const create = () => sandboxer(['create', '-p', 'compose-e2e', '-i', `repo=${repo}`, '--json'], env);
    const a = create();
    expect(a.code).toBe(0);
    expect(existsSync(join(testbed.sandboxBase, `sbx-${a.json.id}`, 'config', 'secret.json'))).toBe(true);
    expect(sandboxer(['destroy', a.json.id], env).code).toBe(0);

    writeFileSync(join(repo, '.sandboxerignore'), 'config/\n');
    const b = create();
    expect(b.code).toBe(0);
    expect(existsSync(join(testbed.sandboxBase, `sbx-${b.json.id}`, 'config'))).toBe(false);
    const caches = join(testbed.sandboxBase, '.sandboxer-cache');
    const leaked = spawnSync('find', [caches, '-path', '*/config/secret.json'], {
      encoding: 'utf8',
    }).stdout.trim();
    expect(leaked).toBe('');
    expect(sandboxer(['destroy', b.json.id], env).code).toBe(0);
  });
});

describe('5: .sandboxerignore is never read through a symlink', () => {
  test('a create with a linked .sandboxerignore is refused naming it, before anything is made', () => {
    const repo = composeRepo();
    symlinkSync('/etc/passwd', join(repo, '.sandboxerignore'));
    const run = sandboxer(['create', '-p', 'compose-e2e', '-i', `repo=${repo}`], env);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(`${join(repo, '.sandboxerignore')} is a symbolic link`);
    const live = sandboxer(['list', '--json'], env).json as Array<{ profile: string }>;
    expect(live.filter((r) => r.profile === 'profile.compose-e2e')).toEqual([]);
  });
});

describe('6: bodies must be JSON; a server without tokens says so', () => {
  test('a POST without a JSON content type is a 415 and makes nothing', async () => {
    const response = await call('POST', '/v1/sandboxes/aaaaaaaaaaaa/snapshots', '{}', {
      authorization: auth.authorization,
    });
    expect(response.status).toBe(415);
    expect(response.json.code).toBe('UNSUPPORTED_MEDIA_TYPE');
  });

  test('serve without tokens warns on start', async () => {
    const open = await startServe({ ...env, SANDBOXER_API_TOKENS: '' });
    await open.stop();
    expect(open.log()).toContain('WARNING: no API tokens');
  });
});

describe('8 and 10: a corrupt ledger is refused, and error bodies show no server path', () => {
  test('a tampered ledger line: 500 STATE_CORRUPT naming the line, with the state directory by its label', async () => {
    const file = join(home, 'ledger.jsonl');
    const before = readFileSync(file, 'utf8');
    writeFileSync(file, before.replace(/"credits":5/, '"credits":"5"'));
    const response = await call('GET', '/v1/credits/acct');
    writeFileSync(file, before);
    expect(response.status).toBe(500);
    expect(response.json.code).toBe('STATE_CORRUPT');
    expect(response.json.message).toMatch(
      /^\$SANDBOXER_HOME\/ledger\.jsonl: line \d+ is not a valid ledger entry/,
    );
    expect(response.text).not.toContain(home);
  });

  test('a missing sandbox names the state directory by its label', async () => {
    const response = await call('GET', '/v1/sandboxes/aaaaaaaaaaaa');
    expect(response.status).toBe(404);
    expect(response.json.message).toBe('no sandbox "aaaaaaaaaaaa" in $SANDBOXER_HOME');
  });
});

describe('9: SIGKILL during rsync leaves neither a key copy nor a running rsync', () => {
  test('key text: no copy is ever written; the CLI killed while rsync runs: its scratch and its rsync are gone within seconds', async () => {
    const repo = composeRepo();
    // Big enough that rsync is still running when we look for it.
    for (let i = 0; i < 6; i++) writeFileSync(join(repo, `blob-${i}.bin`), randomBytes(25 * 1024 * 1024));
    const runnerTemp = mkdtempSync(join(tmpdir(), 'sbx-hostile-runner-'));
    const keyEnv = {
      ...env,
      SANDBOXER_SSH_KEY: readFileSync(testbed.key, 'utf8'),
      RUNNER_TEMP: runnerTemp,
    };
    const hosts = join(home, 'hosts-no-key.yaml');
    writeFileSync(
      hosts,
      readFileSync(env.SANDBOXER_HOSTS as string, 'utf8').replace(/ {4}identity_file: .*\n/, ''),
    );
    const child = spawn(process.execPath, [CLI, 'create', '-p', 'compose-e2e', '-i', `repo=${repo}`], {
      env: { ...process.env, ...keyEnv, SANDBOXER_HOSTS: hosts },
      stdio: 'ignore',
    });
    const rsyncs = () =>
      spawnSync('pgrep', ['-f', `sandboxer-sync-${child.pid}-`], { encoding: 'utf8' }).stdout.trim();
    const find = (name: string) =>
      spawnSync('find', [runnerTemp, '-name', name], { encoding: 'utf8' }).stdout.trim();
    // rsync runs over the CLI's own SSH connection (its bridge in the scratch dir): it needs no
    // key, so none is written.
    for (let i = 0; i < 200 && (rsyncs() === '' || find('bridge.cjs') === ''); i++) {
      expect(find('key')).toBe('');
      await sleep(50);
    }
    expect(find('bridge.cjs')).not.toBe('');
    child.kill('SIGKILL');
    for (let i = 0; i < 100 && (rsyncs() !== '' || find('sandboxer-sync-*') !== ''); i++) await sleep(50);
    expect(rsyncs()).toBe('');
    expect(find('sandboxer-sync-*')).toBe('');
    expect(find('key')).toBe('');
    // What the dead create left is a `provisioning` record, which destroy removes.
    const [record] = sandboxer(['list', '--json'], env).json;
    expect(sandboxer(['destroy', record.id], keyEnv).code).toBe(0);
  });

  test('an identity file: rsync never gets it (it runs over the open connection), and no copy is ever written', async () => {
    const repo = composeRepo();
    writeFileSync(join(repo, 'blob.bin'), randomBytes(40 * 1024 * 1024));
    const runnerTemp = mkdtempSync(join(tmpdir(), 'sbx-hostile-runner-'));
    const child = spawn(
      process.execPath,
      [CLI, 'create', '-p', 'compose-e2e', '-i', `repo=${repo}`, '--json'],
      {
        env: { ...process.env, ...env, RUNNER_TEMP: runnerTemp },
        stdio: ['ignore', 'pipe', 'ignore'],
      },
    );
    let stdout = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    let sawRsync = false;
    while (child.exitCode === null) {
      const args = spawnSync('pgrep', ['-af', 'rsync'], { encoding: 'utf8' }).stdout;
      if (args.includes('bridge.cjs')) sawRsync = true;
      expect(args).not.toContain(testbed.key);
      expect(spawnSync('find', [runnerTemp, '-name', 'key'], { encoding: 'utf8' }).stdout.trim()).toBe('');
      await sleep(25);
    }
    expect(child.exitCode).toBe(0);
    expect(sawRsync).toBe(true);
    expect(sandboxer(['destroy', JSON.parse(stdout).id], env).code).toBe(0);
  });
});

describe('11: the labels file is written so a planted symlink cannot redirect it', () => {
  test('a repo with .sandboxer-compose.labels.yml linked to a file of the host user: the file is untouched', () => {
    const victim = join(mkdtempSync(join(tmpdir(), 'sbx-victim-')), 'victim.txt');
    writeFileSync(victim, 'untouched\n');
    const owner = Number(execFileSync('id', ['-u', testbed.user], { encoding: 'utf8' }).trim());
    chownSync(victim, owner, owner);
    chmodSync(join(victim, '..'), 0o777);
    const repo = composeRepo();
    symlinkSync(victim, join(repo, '.sandboxer-compose.labels.yml'));
    const created = sandboxer(['create', '-p', 'compose-e2e', '-i', `repo=${repo}`, '--json'], env);
    expect(created.code).toBe(0);
    expect(readFileSync(victim, 'utf8')).toBe('untouched\n');
    expect(containerLabels(created.json.id)['dev.sandboxer.sandbox-id']).toBe(created.json.id);
    expect(sandboxer(['destroy', created.json.id], env).code).toBe(0);
    rmSync(join(victim, '..'), { recursive: true, force: true });
  });
});
