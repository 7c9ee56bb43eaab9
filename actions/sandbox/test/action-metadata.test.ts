import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const VALIDATOR = join(root, 'scripts', 'validate-actions.mjs');

/** Runs the CI step `action-yaml` (scripts/validate-actions.mjs), on the given files or the repo's. */
function validate(...paths: string[]): { code: number | null; output: string } {
  const result = spawnSync(process.execPath, [VALIDATOR, ...paths], { encoding: 'utf8' });
  return { code: result.status, output: result.stdout + result.stderr };
}

/** A copy of the root action.yml with one edit, named action.yml so it is read as action metadata. */
function editedAction(from: string, to: string): string {
  const text = readFileSync(join(root, 'action.yml'), 'utf8');
  expect(text).toContain(from);
  const path = join(mkdtempSync(join(tmpdir(), 'sbx-action-yml-')), 'action.yml');
  writeFileSync(path, text.replace(from, to));
  return path;
}

describe('the action metadata and workflows are validated as they are, by a validator that knows node24', () => {
  test("the repository's action.yml files (runs.using: node24) and workflows pass", () => {
    const { code, output } = validate();
    expect(code, output).toBe(0);
    expect(output).toContain('ok   action.yml (action metadata)');
    expect(output).toContain('ok   actions/sandbox/action.yml (action metadata)');
    expect(output).toMatch(/ok {3}\.github\/workflows\/\S+ \(workflow\)/);
  });

  test('a runtime GitHub does not know is rejected by the schema, not by a pattern of ours', () => {
    const { code, output } = validate(editedAction('using: node24', 'using: node21'));
    expect(code).toBe(1);
    expect(output).toMatch(/Line: \d+, Col: \d+\): Unexpected value 'node21'/);
  });

  test("an older runtime GitHub knows is valid metadata, but not this project's", () => {
    const { code, output } = validate(editedAction('using: node24', 'using: node20'));
    expect(code).toBe(1);
    expect(output).toContain("runs.using is node20; this project's actions run on node24");
  });

  test('structural mistakes are caught: a misspelt key, a missing main', () => {
    const { code, output } = validate(editedAction('  main: actions/', '  mian: actions/'));
    expect(code).toBe(1);
    expect(output).toContain("Unexpected value 'mian'");
    expect(output).toContain('Required property is missing: main');
  });

  test('a workflow with a broken expression fails', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sbx-workflow-'));
    const path = join(dir, 'broken.yml');
    // A GitHub expression, not a JavaScript placeholder: built so that neither reads it as one.
    const expression = ['$', '{{ steps.x.outputs.y( }}'].join('');
    writeFileSync(
      path,
      `on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ${expression}\n`,
    );
    const { code, output } = validate(path);
    expect(code).toBe(1);
    expect(output).toContain('FAIL');
  });
});
