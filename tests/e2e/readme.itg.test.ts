import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';

const root = join(import.meta.dirname, '..', '..');

/** The shell commands in the README's code blocks, in order. */
function readmeCommands(): string[] {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  return [...readme.matchAll(/```(?:bash|sh)\n([\s\S]*?)```/g)].map((m) => (m[1] ?? '').trim());
}

describe('the README', () => {
  test('opens with the two commands, and .ci/run runs exactly the second (the test suite)', () => {
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    const [first, second] = readmeCommands();
    expect(first).toBe('npm i -g pnpm@10.34.9 && pnpm install --frozen-lockfile && pnpm build && pnpm demo');
    expect(second).toBe('npm i -g pnpm@10.34.9 && pnpm install --frozen-lockfile && pnpm test:all');
    expect(readme.indexOf(first as string)).toBeLessThan(readme.indexOf('##'));
    const ci = readFileSync(join(root, '.ci', 'run'), 'utf8');
    expect(ci.split('\n')).toContain(second);
  });

  test('command 1 ends in the demo: a saas-stub sandbox is created, listed and destroyed, each step printed', () => {
    const home = mkdtempSync(join(tmpdir(), 'sbx-demo-'));
    const result = spawnSync('bash', [join(root, 'scripts', 'demo.sh')], {
      env: { ...process.env, SANDBOXER_HOME: home },
      encoding: 'utf8',
    });
    expect(result.status, result.stderr).toBe(0);
    const id = /demo finished: sandbox ([a-z0-9]{12}) was created, listed and destroyed/.exec(
      result.stdout,
    )?.[1];
    expect(id).toBeDefined();
    for (const step of ['1/4', '2/4', '3/4', '4/4']) expect(result.stdout).toContain(`==> ${step}`);
    expect(result.stderr).toContain('$ sandboxer create --profile saas-stub');
    expect(result.stderr).toContain(`sandbox ${id}: ready`);
    expect(result.stdout).toMatch(new RegExp(`${id} +ready +profile\\.saas-stub`));
    // The repo was copied in, without what .sandboxerignore excludes.
    expect(result.stdout).toMatch(/\nREADME\.md\n/);
    expect(result.stdout).toMatch(new RegExp(`${id} +destroyed`));
  });
});
