import { defineConfig } from 'vitest/config';
import { SecretScanLastSequencer } from './support/sequencer.js';

/**
 * End-to-end tests: real processes, the real OpenSSH server and Docker engine of tests/testbed.
 * One file at a time (they share the testbed), long timeouts. Everything a run produces goes under
 * one artifacts directory (support/global-setup.ts), which zz-secret-scan.itg.test.ts, always run
 * last, scans for private keys and tokens.
 */
export default defineConfig({
  test: {
    include: ['tests/e2e/**/*.itg.test.ts'],
    fileParallelism: false,
    testTimeout: 180_000,
    hookTimeout: 180_000,
    globalSetup: ['tests/e2e/support/global-setup.ts'],
    sequence: { sequencer: SecretScanLastSequencer },
  },
});
