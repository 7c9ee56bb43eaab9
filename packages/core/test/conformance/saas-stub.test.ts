import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import type { ExtensionDeclaration } from '../../src/declarations/extension-schema.js';
import { SaasStubExtension } from '../../src/extensions/builtin/saas-stub.js';
import { describeConformance } from '../../src/testing/conformance.js';
import { newSandboxId } from '../../src/util/ids.js';
import { profileFor, sampleRepo, tempDir } from '../support/fixtures.js';

const home = tempDir();
const repo = sampleRepo();
const declaration: ExtensionDeclaration = {
  id: 'ext.saas-stub',
  title: 'stub',
  handler: 'builtin:saas-stub',
  capabilities: { isolation_levels: ['directory'], pricing_model: 'metered', snapshot: true },
  inputs: { repo: { kind: 'local-path' } },
  config: { rate_per_minute: 0.5, minimum_minutes: 1 },
};
const stub = () => new SaasStubExtension({ declaration, home, baseDir: home });
const workspace = (id: string) => join(home, 'saas-stub', `sbx-${id}`);

describeConformance('ext.saas-stub', {
  extension: stub,
  inputs: { repo },
  requiredInput: 'repo',
  exists: async (id) => existsSync(workspace(id)),
});

describe('ext.saas-stub specifics', () => {
  test('copies the repo without .git, node_modules and .sandboxerignore matches', async () => {
    const extension = stub();
    const id = newSandboxId();
    const now = new Date();
    await extension.provision({
      sandboxId: id,
      profile: profileFor('ext.saas-stub'),
      inputs: extension.validateInputs({ repo }),
      host: undefined,
      createdAt: now,
      expiresAt: now,
    });
    expect(readdirSync(workspace(id)).sort()).toEqual(['.sandboxerignore', 'README.md', 'src']);
    expect(readFileSync(join(workspace(id), 'src', 'app.txt'), 'utf8')).toBe('app\n');
    await extension.teardown({ sandbox_id: id, host: 'local' });
  });

  test('a repo that core did not resolve (a relative path) is refused before anything is made', () => {
    // Core resolves `local-path` inputs and checks they are directories (lifecycle/plan.ts); the
    // extension only trusts an absolute path.
    expect(() => stub().validateInputs({ repo: 'relative/repo' })).toThrow(
      'ext.saas-stub: input "repo": must be an absolute path to a local directory',
    );
    expect(stub().validateInputs({}, { restore: true })).toEqual({});
  });

  test('refuses a handle whose id could escape the workspace root', async () => {
    await expect(stub().teardown({ sandbox_id: '../../etc', host: 'local' })).rejects.toThrow(
      'unexpected sandbox id',
    );
  });

  test.each([
    [0, 0.5],
    [59, 0.5],
    [60, 0.5],
    [61, 1],
    [600, 5],
  ])('bills %i s as %f credits (started minutes at 0.5/min, minimum 1 minute)', (seconds, credits) => {
    const extension = stub();
    const createdAt = new Date('2026-01-01T00:00:00Z');
    const destroyedAt = new Date(createdAt.getTime() + seconds * 1000);
    expect(
      extension.meterActual({ sandbox_id: 'x', host: 'local' }, { createdAt, destroyedAt }).credits,
    ).toBe(credits);
    expect(extension.estimateCost(profileFor('ext.saas-stub'), seconds).credits).toBe(credits);
  });
});
