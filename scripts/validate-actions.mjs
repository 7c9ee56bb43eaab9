#!/usr/bin/env node
// Validates action.yml, actions/*/action.yml and .github/workflows/*.yml with action-validator
// (SchemaStore schemas). Its bundled schema (0.6.0) predates `runs.using: node24`, so for action
// files we check `using` ourselves and validate the rest with `using: node20` substituted.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const validator = join(root, 'actions', 'sandbox', 'node_modules', '.bin', 'action-validator');
const scratch = mkdtempSync(join(tmpdir(), 'validate-actions-'));
const actions = ['action.yml', ...readdirSync(join(root, 'actions')).map((d) => `actions/${d}/action.yml`)];
const workflows = readdirSync(join(root, '.github', 'workflows')).map((f) => `.github/workflows/${f}`);
let failed = 0;

function validate(label, path) {
  try {
    execFileSync(validator, [path], { stdio: ['ignore', 'pipe', 'pipe'] });
    console.log(`ok   ${label}`);
  } catch (error) {
    failed += 1;
    console.log(`FAIL ${label}\n${error.stdout}${error.stderr}`);
  }
}

for (const action of actions) {
  const text = readFileSync(join(root, action), 'utf8');
  if (!/^ {2}using: node24$/m.test(text)) {
    failed += 1;
    console.log(`FAIL ${action}: runs.using must be node24`);
    continue;
  }
  const copy = join(scratch, `${action.replaceAll('/', '_')}`);
  writeFileSync(copy, text.replace(/^ {2}using: node24$/m, '  using: node20'));
  validate(action, copy);
}
for (const workflow of workflows) validate(workflow, join(root, workflow));
process.exit(failed ? 1 : 0);
