import { ARTIFACTS_ENV, prepareArtifacts } from './artifacts.js';
import { removeSandboxLeftovers } from './docker.js';
import { loadTestbed } from './testbed.js';

/**
 * Runs once per e2e invocation, before any test file: gives the run one artifacts directory and
 * makes it the TMPDIR of the test workers and of every process they start, so the temp dirs the
 * tests make (with mkdtemp under tmpdir()) land where zz-secret-scan.itg.test.ts looks. Then clears
 * what an earlier, interrupted run left on the testbed, saying what it removed.
 */
export default function setup(): void {
  const dirs = prepareArtifacts();
  process.env[ARTIFACTS_ENV] = dirs.run;
  process.env.TMPDIR = dirs.tmp;
  process.stdout.write(`e2e artifacts (logs, outputs, state) in ${dirs.run}\n`);
  clearEarlierRuns();
}

/** The sandbox base directories the e2e files use on the testbed host. */
export function testbedBases(): string[] {
  const testbed = loadTestbed();
  const home = `/home/${testbed.user}`;
  return [testbed.sandboxBase, `${home}/sandboxer`, `${home}/sandboxer-h2`];
}

function clearEarlierRuns(): void {
  let bases: string[];
  try {
    bases = testbedBases();
  } catch {
    return; // no testbed: every e2e file says how to bring it up
  }
  const removed = removeSandboxLeftovers(bases);
  if (removed.length > 0) {
    process.stdout.write(
      `e2e: removed ${removed.length} leftovers of an earlier, interrupted run: ${removed.join(', ')}\n`,
    );
  }
}
