import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { BIN, runCli } from './run-cli.js';

/**
 * exec, logs, ssh and forward on the embedded default (saas-stub: the workspace is a local
 * directory, a forward reaches this machine's ports). The same against a real sshd and dockerd is
 * in tests/e2e/reach.itg.test.ts.
 */

const cmdline = (pid: number) => {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return '';
  }
};
const temp = (prefix: string) => mkdtempSync(join(tmpdir(), prefix));
const env = { SANDBOXER_HOME: temp('sbx-cli-home-') };
let id: string;

beforeAll(() => {
  const repo = temp('sbx-cli-repo-');
  writeFileSync(join(repo, 'README.md'), '# sample\n');
  const created = runCli(['create', '--profile', 'saas-stub', '--input', `repo=${repo}`, '--json'], env);
  expect(created.code, created.stderr).toBe(0);
  id = JSON.parse(created.stdout).id;
});
afterAll(() => {
  runCli(['destroy', id], env);
});

describe('sandboxer exec', () => {
  test("runs in the workspace and exits with the command's code", () => {
    const result = runCli(['exec', id, '--', 'sh', '-c', 'cat README.md; echo oops >&2; exit 7'], env);
    expect(result).toMatchObject({ code: 7, stdout: '# sample\n', stderr: 'oops\n' });
  });

  test('arguments with quotes, $, ; and newlines arrive as given', () => {
    const args = ['a "quoted" word', "it's", '$HOME', 'x; touch pwned', 'two\nlines', '', '*'];
    const result = runCli(
      [
        'exec',
        id,
        '--',
        process.execPath,
        '-e',
        'console.log(JSON.stringify(process.argv.slice(1)))',
        ...args,
      ],
      env,
    );
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual(args);
    expect(runCli(['exec', id, '--', 'ls'], env).stdout).not.toContain('pwned');
  });

  test('stdin is passed on', () => {
    const result = spawnSync(process.execPath, [BIN, 'exec', id, '--', 'wc', '-c'], {
      env: { ...process.env, ...env },
      input: 'twelve bytes',
      encoding: 'utf8',
    });
    expect(result.stdout.trim()).toBe('12');
  });

  test('a missing program exits 127; no command is a usage error', () => {
    expect(runCli(['exec', id, '--', 'no-such-program-xyz'], env).code).toBe(127);
    const none = runCli(['exec', id], env);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('nothing to run: give the command after --');
  });

  test('--service on a backend without services names the flag; nothing ran (125)', () => {
    const result = runCli(['exec', id, '--service', 'web', '--', 'true'], env);
    expect(result.code).toBe(125);
    expect(result.stderr).toMatch(/--service/);
  });

  test('an unknown sandbox: the command did not run (125, as docker exec)', () => {
    expect(runCli(['exec', 'zzzzzzzzzzzz', '--', 'true'], env).code).toBe(125);
  });
});

describe('sandboxer logs and ssh on a backend that has neither', () => {
  test('logs says there is nothing to show; --tail is checked', () => {
    const result = runCli(['logs', id], env);
    expect(result.code).toBe(0);
    expect(result.stderr).toContain('has no service logs to show');
    const bad = runCli(['logs', id, '--tail', 'many'], env);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--tail: expected a number of lines');
  });

  test('ssh says there is no host to log in to', () => {
    const result = runCli(['ssh', id], env);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('ext.saas-stub cannot log in to a host');
  });
});

describe('sandboxer forward', () => {
  let server: ReturnType<typeof createServer>;
  let port: number;
  beforeAll(async () => {
    server = createServer((_req, res) => res.end('hello through the forward'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as { port: number }).port;
  });
  afterAll(() => server.close());

  test('--detach leaves a keeper that the record knows and destroy stops', async () => {
    const repo = temp('sbx-cli-repo-');
    const created = JSON.parse(
      runCli(['create', '--profile', 'saas-stub', '--input', `repo=${repo}`, '--json'], env).stdout,
    );
    const started = runCli(['forward', created.id, `127.0.0.1:${port}`, '--detach', '--json'], env);
    expect(started.code, started.stderr).toBe(0);
    const { pid, urls } = JSON.parse(started.stdout);
    const url = urls[`127.0.0.1:${port}`];
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(await (await fetch(url)).text()).toBe('hello through the forward');
    const record = JSON.parse(runCli(['status', created.id, '--json'], env).stdout);
    expect(record.keeper).toMatchObject({ pid, forwards: urls });
    expect(cmdline(pid)).toContain('--keeper');

    expect(runCli(['destroy', created.id], env).code).toBe(0);
    // Gone (or a zombie waiting for its reaper: no command line either).
    expect(cmdline(pid)).not.toContain('--keeper');
    await expect(fetch(url)).rejects.toThrow();
  });

  test('--local with more ports than names is a usage error', () => {
    const result = runCli(['forward', id, '8080', '--local', '1', '--local', '2'], env);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--local: 2 ports for 1 names');
  });
});
