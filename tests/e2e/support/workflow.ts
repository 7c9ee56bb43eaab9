import { readFileSync } from 'node:fs';
import { parse } from 'yaml';

/**
 * The workflows the docs show, taken from the Markdown itself so that the e2e suite runs exactly
 * what a user copies: the steps of the first ```yaml block that uses the action, and just enough of
 * GitHub's `${{ }}` expressions to run them (vars, secrets, step outputs, fromJSON(…)['key']). An
 * expression this does not know fails the test: the docs cannot drift into something untested.
 */

export interface WorkflowStep {
  id?: string;
  name?: string;
  uses?: string;
  with?: Record<string, string | number | boolean>;
  env?: Record<string, string>;
  run?: string;
}

export interface ExpressionContext {
  vars: Record<string, string>;
  secrets: Record<string, string>;
  /** Outputs by step id. */
  steps: Record<string, Record<string, string>>;
}

/** The steps of the first yaml block in `markdownFile` that uses coulomb/sand-boxer. */
export function documentedSteps(markdownFile: string): WorkflowStep[] {
  const text = readFileSync(markdownFile, 'utf8');
  for (const match of text.matchAll(/```yaml\n([\s\S]*?)```/g)) {
    const block = match[1] ?? '';
    if (!block.includes('uses: coulomb/sand-boxer@')) continue;
    const doc = parse(block) as { jobs?: Record<string, { steps: WorkflowStep[] }> } | WorkflowStep[];
    if (Array.isArray(doc)) return doc;
    const job = Object.values(doc.jobs ?? {})[0];
    if (job) return job.steps;
  }
  throw new Error(`${markdownFile}: no yaml block uses coulomb/sand-boxer`);
}

function evaluate(expression: string, context: ExpressionContext): string {
  const e = expression.trim();
  const named = /^(vars|secrets)\.([A-Za-z_][A-Za-z0-9_]*)$/.exec(e);
  if (named) return context[named[1] as 'vars' | 'secrets'][named[2] as string] ?? '';
  const output = /^steps\.([A-Za-z0-9_-]+)\.outputs\.([A-Za-z0-9_-]+)$/.exec(e);
  if (output) return context.steps[output[1] as string]?.[output[2] as string] ?? '';
  const fromJson = /^fromJSON\(steps\.([A-Za-z0-9_-]+)\.outputs\.([A-Za-z0-9_-]+)\)\['([^']+)'\]$/.exec(e);
  if (fromJson) {
    const value = JSON.parse(context.steps[fromJson[1] as string]?.[fromJson[2] as string] ?? 'null');
    const picked = value?.[fromJson[3] as string];
    if (picked === undefined) throw new Error(`\${{ ${e} }}: no such key in ${JSON.stringify(value)}`);
    return String(picked);
  }
  throw new Error(`the docs use an expression the e2e runner does not know: \${{ ${e} }}`);
}

/** `${{ … }}` replaced as the runner does, before the shell sees the text. */
export function expand(text: string, context: ExpressionContext): string {
  return text.replace(/\$\{\{([\s\S]*?)\}\}/g, (_, expression: string) => evaluate(expression, context));
}

/** The action's `with:` as INPUT_ values (expressions expanded, YAML booleans as text). */
export function actionInputs(step: WorkflowStep, context: ExpressionContext): Record<string, string> {
  return Object.fromEntries(
    Object.entries(step.with ?? {}).map(([name, value]) => [name, expand(String(value), context)]),
  );
}

/** A `run:` step's environment, expanded. */
export function stepEnv(step: WorkflowStep, context: ExpressionContext): Record<string, string> {
  return Object.fromEntries(Object.entries(step.env ?? {}).map(([k, v]) => [k, expand(String(v), context)]));
}
