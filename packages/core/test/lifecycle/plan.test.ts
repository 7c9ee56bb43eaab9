import { mkdirSync, symlinkSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, test } from 'vitest';
import { builtinDeclarations } from '../../src/catalog/builtin-declarations.generated.js';
import { loadCatalog } from '../../src/catalog/catalog.js';
import { InputError } from '../../src/errors.js';
import { type InputPolicy, type PlanContext, planCreate } from '../../src/lifecycle/plan.js';
import { sampleRepo, source, tempDir } from '../support/fixtures.js';

const vmProfile = source(
  'profile',
  'profiles/profile.vm.yaml',
  `description: a workspace on a VM
extension: ext.vm-packer
inputs:
  defaults:
    workspace_dir: /build
`,
);

async function context(policy: InputPolicy, aliases = ['docker-1', 'haskell-vm']): Promise<PlanContext> {
  const catalog = await loadCatalog({ builtins: [...builtinDeclarations, vmProfile], userDirs: [] });
  return { catalog, policy, aliases: async () => aliases };
}

async function refusal(promise: Promise<unknown>): Promise<InputError> {
  const error = await promise.catch((e: unknown) => e);
  expect(error).toBeInstanceOf(InputError);
  return error as InputError;
}

describe('local-path inputs are resolved once, against the base the caller names', () => {
  test('a relative repo is taken from the base directory, not the process working directory', async () => {
    const base = tempDir();
    mkdirSync(join(base, 'app'));
    const plan = await planCreate(await context({ baseDir: base }), {
      profile: 'saas-stub',
      inputs: { repo: 'app' },
    });
    expect(plan.inputs.repo).toBe(join(base, 'app'));
  });

  test.each([
    ['missing', 'nope'],
    ['a file', 'README.md'],
  ])('a repo that is %s is refused, naming the input', async (_what, name) => {
    const repo = sampleRepo();
    const error = await refusal(
      planCreate(await context({ baseDir: repo }), { profile: 'compose-e2e', inputs: { repo: name } }),
    );
    expect(error.message).toBe(`input "repo": ${join(repo, name)} is not a directory`);
    expect(error.details).toEqual({ inputs: ['repo'] });
  });

  test('a required input that is missing is named, and the profile defaults fill the rest', async () => {
    const error = await refusal(
      planCreate(await context({ baseDir: tempDir() }), { profile: 'compose-e2e' }),
    );
    expect(error.message).toBe('profile.compose-e2e: input "repo" required');
    expect(error.details).toMatchObject({ inputs: ['repo'] });
    const plan = await planCreate(await context({ baseDir: sampleRepo() }), {
      profile: 'compose-e2e',
      inputs: { repo: '.' },
    });
    expect(plan.inputs).toMatchObject({ compose_files: 'docker-compose.yml', stop_timeout: '2' });
  });

  test('the TTL is checked against max_ttl and named as the field it is', async () => {
    const ctx = await context({ baseDir: sampleRepo() });
    const error = await refusal(planCreate(ctx, { profile: 'saas-stub', inputs: { repo: '.' }, ttl: '5h' }));
    expect(error.message).toBe("ttl: 5h is longer than profile.saas-stub's max_ttl of 4h");
    expect(error.details).toMatchObject({ field: 'ttl' });
    expect(
      (await planCreate(ctx, { profile: 'saas-stub', inputs: { repo: '.' }, ttl: '1h' })).ttlSeconds,
    ).toBe(3600);
  });
});

describe('inputs nobody declares are refused, not ignored', () => {
  test.each([
    ['saas-stub', 'colour', '', 'repo, wait_timeout'],
    ['compose-e2e', 'compose_fle', ' (did you mean "compose_files"?)', 'compose_files, env, repo'],
    ['compose-e2e', 'servces', ' (did you mean "services"?)', 'services'],
  ])('%s -i %s=x', async (profile, name, hint, listed) => {
    const error = await refusal(
      planCreate(await context({ baseDir: sampleRepo() }), { profile, inputs: { repo: '.', [name]: 'x' } }),
    );
    expect(error.message).toContain(`profile.${profile} has no input "${name}"${hint}; its inputs: `);
    for (const known of listed.split(', ')) expect(error.message).toContain(known);
    expect(error.details).toMatchObject({ unknown_inputs: [name] });
  });

  test("a routed profile accepts what any candidate declares (burst-sandbox: compose-ssh's services)", async () => {
    const plan = await planCreate(await context({ baseDir: sampleRepo() }), {
      profile: 'burst-sandbox',
      inputs: { repo: '.', services: 'web' },
    });
    expect(plan.inputs.services).toBe('web');
  });
});

describe('a confined caller (the HTTP API) reaches only what the server offers', () => {
  const confined = (baseDir: string): InputPolicy => ({ baseDir, confined: true });

  test('a repo inside the root is accepted, resolved to its real path', async () => {
    const root = tempDir();
    mkdirSync(join(root, 'app'));
    const plan = await planCreate(await context(confined(root)), {
      profile: 'saas-stub',
      inputs: { repo: 'app' },
    });
    expect(relative(root, plan.inputs.repo as string)).toBe('app');
  });

  test.each([
    ['outside the root', '/etc'],
    ['climbing out', '../../..'],
    ['missing inside the root', 'nope'],
    ['missing outside the root', '/no/such/dir'],
    ['a symlink that escapes', 'escape'],
  ])('a repo %s gets the same refusal, which reveals nothing', async (_what, repo) => {
    const root = tempDir();
    symlinkSync('/etc', join(root, 'escape'));
    const error = await refusal(
      planCreate(await context(confined(root)), { profile: 'saas-stub', inputs: { repo } }),
    );
    expect(error.message).toBe(
      `input "repo": ${JSON.stringify(repo)} is not a directory inside the repo root`,
    );
    expect(error.message).not.toContain(root);
  });

  test.each([
    ['an inline host', { host: 'root@127.0.0.1:2222' }, 'host'],
    ['a VM named inline', { inputs: { vm: 'root@127.0.0.1:18250' } }, 'vm'],
    ['an ssh_target', { inputs: { ssh_target: 'root@127.0.0.1' } }, 'ssh_target'],
  ])('%s is refused: hosts only by alias', async (_what, request, at) => {
    const error = await refusal(
      planCreate(await context(confined(tempDir())), { profile: 'vm', ...request } as never),
    );
    expect(error.message).toMatch(
      /is not a hosts-file alias; here hosts may only be named by alias \(docker-1, haskell-vm\)$/,
    );
    expect(error.details).toEqual(at === 'host' ? { field: 'host' } : { inputs: [at] });
  });

  test('an alias is accepted; a remote path may come from the profile but not from the client', async () => {
    const ctx = await context(confined(tempDir()));
    const plan = await planCreate(ctx, { profile: 'vm', inputs: { vm: 'haskell-vm' } });
    expect(plan.inputs).toMatchObject({ vm: 'haskell-vm', workspace_dir: '/build' });
    const error = await refusal(
      planCreate(ctx, { profile: 'vm', inputs: { vm: 'haskell-vm', workspace_dir: '/root' } }),
    );
    expect(error.message).toBe(
      'input "workspace_dir": a remote path is fixed by the profile or the hosts file and cannot be chosen here',
    );
  });

  test('an unconfined caller may name inline hosts and remote paths', async () => {
    const plan = await planCreate(await context({ baseDir: tempDir() }), {
      profile: 'vm',
      host: 'me@10.0.0.5',
      inputs: { ssh_target: 'me@10.0.0.5', workspace_dir: '/srv/work' },
    });
    expect(plan).toMatchObject({ host: 'me@10.0.0.5', inputs: { workspace_dir: '/srv/work' } });
  });
});

describe('readiness checks (wait_for) are parsed before anything is created', () => {
  const base = () => {
    const dir = tempDir();
    mkdirSync(join(dir, 'app'));
    return dir;
  };

  test('the request adds to the profile; a wait_timeout input bounds them, else the profile does', async () => {
    const dir = base();
    const plan = await planCreate(await context({ baseDir: dir }), {
      profile: 'compose-e2e',
      inputs: { repo: 'app' },
      waitFor: ['http://web:8080/health', 'log://worker/ready/'],
    });
    expect(plan.checks.map((c) => c.text)).toEqual(['http://web:8080/health', 'log://worker/ready/']);
    expect(plan.checkTimeoutSeconds).toBe(120);
    const bounded = await planCreate(await context({ baseDir: dir }), {
      profile: 'compose-e2e',
      inputs: { repo: 'app', wait_timeout: '9' },
      waitFor: ['tcp://db:5432'],
    });
    expect(bounded.checkTimeoutSeconds).toBe(9);
  });

  test('a malformed check is an InputError on wait_for', async () => {
    const error = await refusal(
      planCreate(await context({ baseDir: base() }), {
        profile: 'compose-e2e',
        inputs: { repo: 'app' },
        waitFor: ['web:8080'],
      }),
    );
    expect(error.details).toEqual({ field: 'wait_for' });
  });

  test("a confined caller's checks may reach only published ports", async () => {
    const plan = await planCreate(await context({ baseDir: base(), confined: true }), {
      profile: 'compose-e2e',
      inputs: { repo: 'app' },
      waitFor: ['tcp://db:5432', 'log://worker/ready/'],
    });
    expect(plan.checks[0]).toMatchObject({ kind: 'tcp', publishedOnly: true });
  });
});
