import { BaseSequencer, type TestSpecification } from 'vitest/node';

/** Files that must run after all others: the secret scan reads what every other file produced. */
const LAST = /zz-secret-scan\.itg\.test\.ts$/;

/**
 * Vitest's default order puts failed and slow files first (from its cache), not by name; this keeps
 * that order and moves the secret scan to the end.
 */
export class SecretScanLastSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    return [...sorted.filter((f) => !LAST.test(f.moduleId)), ...sorted.filter((f) => LAST.test(f.moduleId))];
  }
}
