import { ARTIFACTS_ENV, prepareArtifacts } from './artifacts.js';

/**
 * Runs once per e2e invocation, before any test file: gives the run one artifacts directory and
 * makes it the TMPDIR of the test workers and of every process they start, so the temp dirs the
 * tests make (with mkdtemp under tmpdir()) land where zz-secret-scan.itg.test.ts looks.
 */
export default function setup(): void {
  const dirs = prepareArtifacts();
  process.env[ARTIFACTS_ENV] = dirs.run;
  process.env.TMPDIR = dirs.tmp;
  process.stdout.write(`e2e artifacts (logs, outputs, state) in ${dirs.run}\n`);
}
