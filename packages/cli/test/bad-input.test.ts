import { cpSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { runCli } from './run-cli.js';

/**
 * Every bad input a user was seen to give gets a named error (never a stack trace) and the exit code
 * docs/cli.md promises; nothing is recorded for it. Each case here failed before it was fixed.
 */

const temp = (prefix: string) => mkdtempSync(join(tmpdir(), prefix));
const ROOT = join(import.meta.dirname, '..', '..', '..');

/** A git repository with a file, and a fresh state directory. */
function workspace() {
  const repo = temp('sbx-bad-repo-');
  mkdirSync(join(repo, '.git'));
  writeFileSync(join(repo, 'README.md'), '# sample\n');
  return { repo, env: { SANDBOXER_HOME: temp('sbx-bad-home-'), SANDBOXER_HOSTS: '', SSH_AUTH_SOCK: '' } };
}

const stub = ['create', '-p', 'saas-stub', '-i', 'repo=.'];

describe('input errors are exit 2 with a named message', () => {
  test.each([
    [['--consumer', ''], /consumer: expected a name of 1 to 200 printable characters, got ""/],
    [['--account', ''], /account: expected a name of 1 to 200 printable characters, got ""/],
    [['-i', 'colour=red'], /profile\.saas-stub has no input "colour"; its inputs: repo, wait_timeout/],
    [['-i', 'repo=/tmp'], /--input repo given twice \("\." and "\/tmp"\): give it once/],
    [['--ttl', 'soon'], /expected a duration like "90s", "30m", "1h30m", "1\.5h" or "1d", got "soon"/],
  ])('create %j', (extra, message) => {
    const { repo, env } = workspace();
    const run = runCli([...stub, ...extra], env, repo);
    expect(run.code, run.stderr).toBe(2);
    expect(run.stderr).toMatch(message);
    expect(run.stderr).not.toMatch(/ZodError|\n\s+at /);
    expect(runCli(['list', '--all', '-q'], env, repo).stdout).toBe('');
  });

  test('a misspelt input of a compose profile suggests the right one, on create and on route', () => {
    const { repo, env } = workspace();
    for (const command of ['create', 'route']) {
      const run = runCli([command, '-p', 'compose-e2e', '-i', 'repo=.', '-i', 'compose_fle=x'], env, repo);
      expect(run.code).toBe(2);
      expect(run.stderr).toContain('has no input "compose_fle" (did you mean "compose_files"?)');
    }
  });

  test('a misspelt option is named with a suggestion, not as a missing --profile', () => {
    const { repo, env } = workspace();
    const run = runCli(['create', '--proflie', 'saas-stub'], env, repo);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("unknown option '--proflie'");
    expect(run.stderr).toContain('Did you mean --profile?');
    const missing = runCli(['create'], env, repo);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("required option '-p, --profile <profile>' not specified");
  });

  test('a --home that does not exist is an error, not "no sandboxes"', () => {
    const { repo } = workspace();
    const run = runCli(['list'], { SANDBOXER_HOME: '/proc/self/nope' }, repo);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('--home (SANDBOXER_HOME): /proc/self/nope does not exist');
  });

  test('a mistyped account is not shown with the credits a new one would get', () => {
    const { repo, env } = workspace();
    expect(runCli([...stub, '--consumer', 'team-a'], env, repo).code).toBe(0);
    const run = runCli(['credits', 'balance', 'team-b'], env, repo);
    expect(run.code).toBe(3);
    expect(run.stderr).toContain(
      'no account "team-b" in the ledger yet (did you mean "team-a"?); known: team-a',
    );
    expect(runCli(['credits', 'balance', 'team-a'], env, repo).code).toBe(0);
  });
});

describe('exit codes scripts rely on', () => {
  test('route with nothing feasible exits 8; gc that could not scan a host exits 5', () => {
    const { repo, env } = workspace();
    const hosts = join(env.SANDBOXER_HOME, 'hosts.yaml');
    writeFileSync(hosts, 'hosts:\n  h1: { address: 127.0.0.1, port: 9, user: nobody, capacity: 1 }\n');
    const keyless = { ...env, SANDBOXER_HOSTS: hosts };
    const route = runCli(
      ['route', '-p', 'burst-sandbox', '-i', 'repo=.', '--account', 'none', '--host', 'h1'],
      {
        ...keyless,
        SANDBOXER_INITIAL_CREDITS: '0',
      },
      repo,
    );
    expect(route.code, route.stderr).toBe(8);
    expect(route.stdout).toContain('no backend can take it now');
    const gc = runCli(['gc'], keyless, repo);
    expect(gc.code).toBe(5);
    expect(gc.stdout).toContain('scan failed');
  });

  test('a create with no SSH key for its host is refused before anything is recorded (exit 2)', () => {
    const { repo, env } = workspace();
    const hosts = join(env.SANDBOXER_HOME, 'hosts.yaml');
    writeFileSync(hosts, 'hosts:\n  h1: { address: 127.0.0.1, port: 9, user: nobody }\n');
    const run = runCli(
      ['create', '-p', 'compose-e2e', '-i', 'repo=.', '--host', 'h1'],
      { ...env, SANDBOXER_HOSTS: hosts },
      repo,
    );
    expect(run.code, run.stderr).toBe(2);
    expect(run.stderr).toContain('no SSH key for nobody@127.0.0.1:9');
    expect(runCli(['list', '--all', '-q'], env, repo).stdout).toBe('');
  });
});

describe('conventions', () => {
  test('durations: 1h30m and 1.5h are accepted, and said back in the same terms', () => {
    const { repo, env } = workspace();
    for (const ttl of ['1h30m', '1.5h']) {
      const run = runCli([...stub, '--ttl', ttl, '--json'], env, repo);
      expect(run.code, run.stderr).toBe(0);
      expect(JSON.parse(run.stdout).ttl_seconds).toBe(5400);
    }
    const tooLong = runCli([...stub, '--ttl', '4h30m'], env, repo);
    expect(tooLong.stderr).toContain("4h30m is longer than profile.saas-stub's max_ttl of 4h");
  });

  test('-p takes a profile file; .sandboxer/ is found from a subdirectory, as git finds .git', () => {
    const { repo, env } = workspace();
    mkdirSync(join(repo, '.sandboxer', 'profiles'), { recursive: true });
    cpSync(
      join(ROOT, 'profiles', 'profile.saas-stub.yaml'),
      join(repo, '.sandboxer', 'profiles', 'profile.mine.yaml'),
    );
    mkdirSync(join(repo, 'services', 'api'), { recursive: true });
    writeFileSync(join(repo, 'services', 'api', 'main.go'), 'package main\n');
    const sub = join(repo, 'services', 'api');
    const byId = runCli(['create', '-p', 'mine', '-i', 'repo=.', '--json'], env, sub);
    expect(byId.code, byId.stderr).toBe(0);
    // repo=. is the directory the command ran in, not the repository root.
    expect(readdirSync(JSON.parse(byId.stdout).reachability.remote_dir)).toEqual(['main.go']);
    const byPath = runCli(
      ['create', '-p', '../../.sandboxer/profiles/profile.mine.yaml', '-i', 'repo=.', '--json'],
      env,
      sub,
    );
    expect(byPath.code, byPath.stderr).toBe(0);
    expect(JSON.parse(byPath.stdout).profile).toBe('profile.mine');
    const notAProfile = runCli(['create', '-p', './main.go', '-i', 'repo=.'], env, sub);
    expect(notAProfile.code).toBe(2);
    expect(notAProfile.stderr).toContain('a profile file is <dir>/profiles/profile.<name>.yaml');
  });

  test('list: filters, -q for ids only, a CONSUMER column; status of an ended sandbox shows no expiry', () => {
    const { repo, env } = workspace();
    const a = JSON.parse(runCli([...stub, '--consumer', 'ci#1', '--json'], env, repo).stdout).id;
    const b = JSON.parse(runCli([...stub, '--consumer', 'ci#2', '--json'], env, repo).stdout).id;
    expect(runCli(['list', '-q'], env, repo).stdout.split('\n').filter(Boolean).sort()).toEqual(
      [a, b].sort(),
    );
    expect(runCli(['list', '-q', '--consumer', 'ci#2'], env, repo).stdout).toBe(`${b}\n`);
    expect(runCli(['list'], env, repo).stdout).toMatch(/CONSUMER[\s\S]*ci#1/);
    expect(runCli(['destroy', a], env, repo).code).toBe(0);
    expect(runCli(['list', '-q', '--state', 'destroyed'], env, repo).stdout).toBe(`${a}\n`);
    expect(runCli(['list', '-q', '--state', 'ready', '--profile', 'saas-stub'], env, repo).stdout).toBe(
      `${b}\n`,
    );
    const bogus = runCli(['list', '--state', 'bogus'], env, repo);
    expect(bogus.code).toBe(2);
    const status = runCli(['status', a], env, repo).stdout;
    expect(status).toContain('ended');
    expect(status).not.toContain('expires');
  });

  test('completion scripts for bash, zsh and fish know the commands and their options', () => {
    const { repo, env } = workspace();
    const bash = runCli(['completion', 'bash'], env, repo);
    expect(bash.code).toBe(0);
    expect(bash.stdout).toContain('complete -F _sandboxer sandboxer');
    expect(bash.stdout).toMatch(/'create'\) words='[^']*--profile/);
    expect(runCli(['completion', 'zsh'], env, repo).stdout).toContain('bashcompinit');
    expect(runCli(['completion', 'fish'], env, repo).stdout).toContain(
      "-n '__fish_seen_subcommand_from create' -l profile",
    );
    expect(runCli(['completion', 'tcsh'], env, repo).code).toBe(2);
  });
});
