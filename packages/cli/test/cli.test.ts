import { existsSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { runCli, runCliAsync } from './run-cli.js';

const temp = (prefix: string) => mkdtempSync(join(tmpdir(), prefix));

function sampleRepo(): string {
  const repo = temp('sbx-cli-repo-');
  writeFileSync(join(repo, 'README.md'), '# sample\n');
  return repo;
}

describe('sandboxer CLI', () => {
  test('--version and --help exit 0', () => {
    const env = { SANDBOXER_HOME: temp('sbx-cli-home-') };
    expect(runCli(['--version'], env)).toMatchObject({ code: 0, stdout: '0.1.0\n' });
    const help = runCli(['--help'], env);
    expect(help.code).toBe(0);
    for (const command of ['create', 'status', 'list', 'destroy', 'profiles', 'extensions']) {
      expect(help.stdout).toContain(command);
    }
  });

  test('create → list → status → destroy with --json, progress on stderr only', () => {
    const home = temp('sbx-cli-home-');
    const env = { SANDBOXER_HOME: home };
    const repo = sampleRepo();
    const created = runCli(
      ['create', '--profile', 'saas-stub', '--input', `repo=${repo}`, '--json', '-v'],
      env,
    );
    expect(created.code).toBe(0);
    const record = JSON.parse(created.stdout);
    expect(record).toMatchObject({
      state: 'ready',
      profile: 'profile.saas-stub',
      extension: 'ext.saas-stub',
      host: 'local',
    });
    for (const key of ['id', 'reachability', 'created_at', 'expires_at']) expect(record).toHaveProperty(key);
    expect(created.stderr).toContain('ready');
    expect(existsSync(join(record.reachability.remote_dir, 'README.md'))).toBe(true);

    const listed = JSON.parse(runCli(['list', '--json'], env).stdout);
    expect(listed.map((r: { id: string }) => r.id)).toEqual([record.id]);
    expect(JSON.parse(runCli(['status', record.id, '--json'], env).stdout).state).toBe('ready');
    expect(runCli(['list'], env).stdout).toMatch(
      new RegExp(`^ID +STATE.*\\n${record.id} +ready +profile\\.saas-stub`),
    );

    const destroyed = runCli(['destroy', record.id, '--json'], env);
    expect(destroyed.code).toBe(0);
    expect(JSON.parse(destroyed.stdout).state).toBe('destroyed');
    expect(existsSync(record.reachability.remote_dir)).toBe(false);
    expect(JSON.parse(runCli(['list', '--json'], env).stdout)).toEqual([]);
    expect(JSON.parse(runCli(['list', '--all', '--json'], env).stdout)).toHaveLength(1);
    expect(runCli(['destroy', record.id], env).code).toBe(0);
  });

  test('progress is quiet when piped unless --verbose', () => {
    const env = { SANDBOXER_HOME: temp('sbx-cli-home-') };
    const created = runCli(
      ['create', '-p', 'profile.saas-stub', '-i', `repo=${sampleRepo()}`, '--json'],
      env,
    );
    expect(created.code).toBe(0);
    expect(created.stderr).toBe('');
  });

  test.each([
    ['unknown profile', 3, ['create', '-p', 'nope', '-i', 'repo=.'], /unknown profile "nope" \(known: /],
    [
      'missing required input',
      2,
      ['create', '-p', 'saas-stub'],
      /input "repo" required \(pass --input repo=<value>\)/,
    ],
    [
      'malformed --input',
      2,
      ['create', '-p', 'saas-stub', '-i', 'no-equals'],
      /--input "no-equals": expected key=value/,
    ],
    ['unknown option', 2, ['create', '-p', 'saas-stub', '--bogus'], /unknown option '--bogus'/],
    ['missing --profile', 2, ['create'], /required option '-p, --profile <profile>' not specified/],
    ['malformed id', 2, ['status', '../etc'], /"\.\.\/etc" is not a sandbox id/],
    ['unknown id', 3, ['destroy', 'aaaaaaaaaaaa'], /no sandbox "aaaaaaaaaaaa"/],
    ['ttl over max', 2, ['create', '-p', 'saas-stub', '-i', 'repo=.', '--ttl', '5h'], /max_ttl of 4h/],
  ] as const)('%s → exit %i with a clear message', (_name, code, args, message) => {
    const result = runCli([...args], { SANDBOXER_HOME: temp('sbx-cli-home-') });
    expect(result.code).toBe(code);
    expect(result.stderr).toMatch(message);
  });

  test('errors with --json are also a JSON document on stdout', () => {
    const result = runCli(['status', 'aaaaaaaaaaaa', '--json'], { SANDBOXER_HOME: temp('sbx-cli-home-') });
    expect(result.code).toBe(3);
    expect(JSON.parse(result.stdout)).toMatchObject({ error: { code: 'NOT_FOUND' } });
  });

  test('profiles and extensions list the built-ins, as tables and as JSON', () => {
    const env = { SANDBOXER_HOME: temp('sbx-cli-home-') };
    const profiles = JSON.parse(runCli(['profiles', '--json'], env).stdout);
    expect(profiles.map((p: { id: string }) => p.id)).toContain('profile.compose-e2e');
    expect(runCli(['extensions'], env).stdout).toMatch(/ext\.saas-stub +metered/);
  });

  test('user declarations in ./.sandboxer override built-ins; a failing provision exits 4 and leaves nothing', () => {
    const project = temp('sbx-cli-project-');
    mkdirSync(join(project, '.sandboxer', 'extensions'), { recursive: true });
    mkdirSync(join(project, '.sandboxer', 'profiles'));
    writeFileSync(
      join(project, '.sandboxer', 'extensions', 'flaky.mjs'),
      `import { mkdirSync, rmSync, existsSync } from 'node:fs';
export function createFlaky(context) {
  const dir = (id) => context.home + '/flaky-' + id;
  return {
    id: context.declaration.id,
    validateInputs: (inputs) => inputs,
    async provision(r) { mkdirSync(dir(r.sandboxId)); throw new Error('backend exploded'); },
    async waitReady() { return {}; },
    async teardown(h) { const gone = !existsSync(dir(h.sandbox_id)); rmSync(dir(h.sandbox_id), { recursive: true, force: true }); return { removed: [], leftovers: [], already_gone: gone }; },
  };
}
`,
    );
    writeFileSync(
      join(project, '.sandboxer', 'extensions', 'ext.flaky.yaml'),
      'id: ext.flaky\ntitle: Flaky\nhandler: ./flaky.mjs:createFlaky\ncapabilities:\n  isolation_levels: [directory]\n  pricing_model: self-hosted\n',
    );
    writeFileSync(
      join(project, '.sandboxer', 'profiles', 'profile.flaky.yaml'),
      'description: fails\nextension: ext.flaky\n',
    );
    const home = temp('sbx-cli-home-');
    const env = { SANDBOXER_HOME: home };
    const result = runCli(['create', '-p', 'flaky', '--json'], env, project);
    expect(result.code).toBe(4);
    expect(result.stderr).toMatch(/provision failed: backend exploded \(rolled back/);
    expect(readdirSync(home).filter((n) => n.startsWith('flaky-'))).toEqual([]);
    const [record] = JSON.parse(runCli(['list', '--all', '--json'], env, project).stdout);
    expect(record).toMatchObject({
      state: 'failed',
      error: { step: 'provision', message: 'backend exploded' },
    });
  });

  test('20 CLI processes creating and destroying at once leave a consistent store', async () => {
    const home = temp('sbx-cli-home-');
    // Enough credits for 20 concurrent holds of 15 (profile.saas-stub's 30 minutes at 0.5/min).
    const env = { SANDBOXER_HOME: home, SANDBOXER_INITIAL_CREDITS: '300' };
    const repo = sampleRepo();
    const results = await Promise.all(
      Array.from({ length: 20 }, async () => {
        const created = await runCliAsync(['create', '-p', 'saas-stub', '-i', `repo=${repo}`, '--json'], env);
        if (created.code !== 0) return created;
        return runCliAsync(['destroy', JSON.parse(created.stdout).id, '--json'], env);
      }),
    );
    expect(results.map((r) => r.code)).toEqual(Array(20).fill(0));
    const all = JSON.parse(runCli(['list', '--all', '--json'], env).stdout) as Array<{
      id: string;
      state: string;
    }>;
    expect(all).toHaveLength(20);
    expect(new Set(all.map((r) => r.id)).size).toBe(20);
    expect(all.every((r) => r.state === 'destroyed')).toBe(true);
    expect(readdirSync(join(home, 'sandboxes')).filter((n) => !n.endsWith('.json'))).toEqual([]);
    expect(readdirSync(join(home, 'locks'))).toEqual([]);
    expect(readdirSync(join(home, 'saas-stub'))).toEqual([]);
  });
});
