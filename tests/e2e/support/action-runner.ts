import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { recordOutput, recordSecrets, secretsOf } from './artifacts.js';

/**
 * Runs the committed action bundle exactly as the GitHub runner does: `node dist/index.js` with
 * INPUT_* variables and the GITHUB_STATE / GITHUB_OUTPUT / GITHUB_STEP_SUMMARY files for main;
 * then, for post, a new process with the STATE_* variables the runner derives from the state file.
 */
export const BUNDLE = join(import.meta.dirname, '..', '..', '..', 'actions', 'sandbox', 'dist', 'index.js');

export interface StepResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface ActionJob {
  dir: string;
  stateFile: string;
  outputFile: string;
  summaryFile: string;
  workspace: string;
}

export function newJob(workspace: string): ActionJob {
  const dir = mkdtempSync(join(tmpdir(), 'sbx-action-'));
  const job = {
    dir,
    stateFile: join(dir, 'state'),
    outputFile: join(dir, 'output'),
    summaryFile: join(dir, 'summary.md'),
    workspace,
  };
  for (const file of [job.stateFile, job.outputFile, job.summaryFile]) writeFileSync(file, '');
  return job;
}

/** `name<<delimiter\nvalue\ndelimiter` blocks (and plain `name=value` lines) as written by @actions/core. */
export function parseCommandFile(path: string): Record<string, string> {
  const text = existsSync(path) ? readFileSync(path, 'utf8') : '';
  const values: Record<string, string> = {};
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as string;
    const heredoc = /^([^=<]+)<<(.+)$/.exec(line);
    if (heredoc) {
      const [, name, delimiter] = heredoc as unknown as [string, string, string];
      const body: string[] = [];
      for (i++; i < lines.length && lines[i] !== delimiter; i++) body.push(lines[i] as string);
      values[name] = body.join('\n');
    } else if (line.includes('=')) {
      values[line.slice(0, line.indexOf('='))] = line.slice(line.indexOf('=') + 1);
    }
  }
  return values;
}

function stepEnv(job: ActionJob, inputs: Record<string, string>, extra: Record<string, string>) {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    // A clean runner environment: no inherited sand-boxer or INPUT_ settings.
    if (
      value !== undefined &&
      !key.startsWith('INPUT_') &&
      !key.startsWith('SANDBOXER_') &&
      !key.startsWith('STATE_')
    ) {
      env[key] = value;
    }
  }
  for (const [name, value] of Object.entries(inputs)) env[`INPUT_${name.toUpperCase()}`] = value;
  return {
    ...env,
    GITHUB_ACTIONS: 'true',
    GITHUB_STATE: job.stateFile,
    GITHUB_OUTPUT: job.outputFile,
    GITHUB_STEP_SUMMARY: job.summaryFile,
    GITHUB_WORKSPACE: job.workspace,
    GITHUB_REPOSITORY: 'coulomb/example',
    GITHUB_RUN_ID: '4242',
    GITHUB_RUN_ATTEMPT: '1',
    GITHUB_JOB: 'e2e',
    RUNNER_TEMP: job.dir,
    ...extra,
  };
}

export interface StepOptions {
  /** Runs the step through this (e.g. inside a network namespace, as another user). */
  wrap?: (argv: string[]) => string[];
}

/** Starts a step; the caller may signal it (cancellation tests) before awaiting `done`. */
export function startStep(
  job: ActionJob,
  step: 'main' | 'post',
  inputs: Record<string, string>,
  extra: Record<string, string> = {},
  options: StepOptions = {},
): { child: ChildProcess; done: Promise<StepResult> } {
  const state =
    step === 'post'
      ? Object.fromEntries(Object.entries(parseCommandFile(job.stateFile)).map(([k, v]) => [`STATE_${k}`, v]))
      : {};
  recordSecrets(secretsOf(extra, inputs));
  const [file, ...args] = (options.wrap ?? ((argv) => argv))([process.execPath, BUNDLE]) as [
    string,
    ...string[],
  ];
  const child = spawn(file, args, {
    cwd: job.workspace,
    env: { ...stepEnv(job, inputs, extra), ...state },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d) => {
    stdout += d;
  });
  child.stderr?.on('data', (d) => {
    stderr += d;
  });
  const done = new Promise<StepResult>((resolve) =>
    child.on('close', (code) => {
      recordOutput(`action-${step}`, { stdout, stderr });
      resolve({ code, stdout, stderr });
    }),
  );
  return { child, done };
}

export function runStep(
  job: ActionJob,
  step: 'main' | 'post',
  inputs: Record<string, string>,
  extra: Record<string, string> = {},
  options: StepOptions = {},
): Promise<StepResult> {
  return startStep(job, step, inputs, extra, options).done;
}
