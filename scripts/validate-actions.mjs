#!/usr/bin/env node
// Validates the action metadata (action.yml, actions/*/action.yml) and the workflows
// (.github/workflows/*.yml) as they are, with GitHub's own parser (github-schema.mjs says why that
// one). Give paths to check only those: a file named action.yml / action.yaml is action metadata,
// anything else a workflow. Exit 1 if any file has a problem.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { actionProblems, isActionFile, workflowProblems } from './github-schema.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));

function repositoryFiles() {
  const actions = readdirSync(join(root, 'actions')).map((dir) => join(root, 'actions', dir, 'action.yml'));
  const workflowDir = join(root, '.github', 'workflows');
  const workflows = readdirSync(workflowDir)
    .filter((name) => /\.ya?ml$/.test(name))
    .map((name) => join(workflowDir, name));
  return [join(root, 'action.yml'), ...actions, ...workflows];
}

const paths = process.argv.length > 2 ? process.argv.slice(2) : repositoryFiles();
let failed = 0;
for (const path of paths) {
  const label = path.startsWith(root) ? relative(root, path) : path;
  const content = readFileSync(path, 'utf8');
  const problems = isActionFile(path)
    ? actionProblems(label, content)
    : await workflowProblems(label, content);
  if (problems.length === 0) {
    console.log(`ok   ${label} (${isActionFile(path) ? 'action metadata' : 'workflow'})`);
  } else {
    failed += 1;
    console.log(`FAIL ${label}\n${problems.map((problem) => `  ${problem}`).join('\n')}`);
  }
}
console.log(`${paths.length - failed} valid, ${failed} invalid (validator: @actions/workflow-parser)`);
process.exit(failed ? 1 : 0);
