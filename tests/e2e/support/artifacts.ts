import { appendFileSync, chmodSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Everything an e2e run produces lands under one directory, so the last file of the suite
 * (zz-secret-scan.itg.test.ts) can scan it all for private keys and tokens:
 *
 *   <run>/tmp/      TMPDIR of the run: every temp dir a test or a child process makes (state homes,
 *                   action jobs with their state/output/summary files, workspaces, hosts files)
 *   <run>/outputs/  stdout and stderr of every CLI run, action step and `sandboxer serve`
 *   <run>/secrets/  the tokens the runners saw (kept out of the scan, which looks for them)
 *
 * The run directory is $SANDBOXER_E2E_ARTIFACTS when set (reuse one across invocations to run the
 * files one by one and scan at the end), else a new /tmp/sandboxer-e2e-artifacts/run-<time>-<pid>.
 */
export const ARTIFACTS_ENV = 'SANDBOXER_E2E_ARTIFACTS';

export interface ArtifactDirs {
  run: string;
  tmp: string;
  outputs: string;
  secrets: string;
}

export function artifactDirs(run: string): ArtifactDirs {
  return { run, tmp: join(run, 'tmp'), outputs: join(run, 'outputs'), secrets: join(run, 'secrets') };
}

/** Creates the run's directories (globalSetup); returns them. */
export function prepareArtifacts(env: NodeJS.ProcessEnv = process.env): ArtifactDirs {
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const run = env[ARTIFACTS_ENV] || join(tmpdir(), 'sandboxer-e2e-artifacts', `run-${stamp}-${process.pid}`);
  const dirs = artifactDirs(run);
  for (const dir of [dirs.run, dirs.outputs]) mkdirSync(dir, { recursive: true, mode: 0o755 });
  // Like /tmp: the testbed's SSH user on this machine must reach it (e.g. to show an injection
  // touched a marker file), exactly as it reached /tmp before.
  mkdirSync(dirs.tmp, { recursive: true });
  chmodSync(dirs.tmp, 0o1777);
  mkdirSync(dirs.secrets, { recursive: true, mode: 0o700 });
  return dirs;
}

/** The run's directories, or undefined when the e2e config's globalSetup did not run. */
export function currentArtifacts(): ArtifactDirs | undefined {
  const run = process.env[ARTIFACTS_ENV];
  return run && existsSync(run) ? artifactDirs(run) : undefined;
}

let sequence = 0;

/** Keeps what a process printed, as `<outputs>/<pid>-<n>-<what>.stdout|.stderr`. */
export function recordOutput(what: string, output: { stdout?: string | null; stderr?: string | null }): void {
  const dirs = currentArtifacts();
  if (!dirs) return;
  const name = `${process.pid}-${String(++sequence).padStart(4, '0')}-${what.replace(/[^A-Za-z0-9_.-]/g, '_')}`;
  writeFileSync(join(dirs.outputs, `${name}.stdout`), output.stdout ?? '');
  writeFileSync(join(dirs.outputs, `${name}.stderr`), output.stderr ?? '');
}

/** Secrets a runner handed to a process, by where they came from: API tokens and SSH key text. */
export function secretsOf(
  env: Record<string, string | undefined>,
  inputs: Record<string, string> = {},
): string[] {
  const tokens = [
    ...(env.SANDBOXER_API_TOKENS ?? '').split(/[,\n]/).map((t) => t.trim()),
    env.SANDBOXER_TOKEN ?? '',
    // A database URL's password.
    /^postgres(?:ql)?:\/\/[^:/@]+:([^@]+)@/.exec(env.SANDBOXER_STATE ?? '')?.[1] ?? '',
  ];
  const secretInputs = Object.entries(inputs)
    .filter(([name]) => /key|token|secret|password/i.test(name))
    .map(([, value]) => value);
  return [...tokens, env.SANDBOXER_SSH_KEY ?? '', ...secretInputs].filter((s) => s.length >= 8);
}

/** Notes secrets for the scan; one JSON string per line in `<secrets>/seen.jsonl`. */
export function recordSecrets(secrets: string[]): void {
  const dirs = currentArtifacts();
  if (!dirs || secrets.length === 0) return;
  appendFileSync(join(dirs.secrets, 'seen.jsonl'), secrets.map((s) => `${JSON.stringify(s)}\n`).join(''), {
    mode: 0o600,
  });
}
