import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

/**
 * The fault suite's findings: what each fault did, as observed on this run (exit code, an excerpt of
 * the message the user saw, what cleaned up and how long it took), written to
 * `.reports/reliability.json`; and the check that docs/reliability.md has a row for every fault, so
 * the documented table cannot drift from what is tested.
 */

export interface Observation {
  /** Exit code of the operation that met the fault. */
  exit_code?: number | null;
  /** The first lines of what the user saw (stderr), bounded. */
  message?: string;
  /** What removed what the fault left: `rollback`, `sandboxer gc`, `host-side switch`… */
  cleaned_by?: string;
  /** Seconds from the fault to nothing left. */
  seconds_to_clean?: number;
  [key: string]: unknown;
}

/** A bounded excerpt of a message: its first lines, up to `max` characters. */
export function excerpt(text: string, lines = 3, max = 400): string {
  const cut = text
    .split('\n')
    .filter((l) => l.trim() !== '' && !/^\[\s*\d+\.\ds\]/.test(l))
    .slice(0, lines)
    .join('\n');
  return cut.length > max ? `${cut.slice(0, max)}…` : cut;
}

export class ReliabilityReport {
  readonly #observed = new Map<string, Observation & { outcome: string }>();

  constructor(readonly faults: readonly string[]) {}

  observe(test: string, observation: Observation): void {
    if (!this.faults.includes(test)) throw new Error(`"${test}" is not one of the declared faults`);
    this.#observed.set(test, { outcome: 'observed', ...this.#observed.get(test), ...observation });
  }

  /** What was observed of one fault so far (undefined when it did not run). */
  get(test: string): (Observation & { outcome: string }) | undefined {
    return this.#observed.get(test);
  }

  /** Writes every declared fault, with what was observed (or `not run`). */
  write(path: string, meta: Record<string, unknown>): void {
    mkdirSync(dirname(path), { recursive: true });
    const faults = this.faults.map((test) => ({
      test,
      ...(this.#observed.get(test) ?? { outcome: 'not run' }),
    }));
    writeFileSync(
      path,
      `${JSON.stringify({ generated_at: new Date().toISOString(), ...meta, faults }, null, 2)}\n`,
    );
  }
}

/** The declared faults that docs/reliability.md has no table row for (a row names the test in backticks). */
export function faultsMissingFromDoc(docPath: string, faults: readonly string[]): string[] {
  const rows = readFileSync(docPath, 'utf8')
    .split('\n')
    .filter((line) => line.trimStart().startsWith('|'));
  return faults.filter((test) => !rows.some((row) => row.includes(`\`${test}\``)));
}
