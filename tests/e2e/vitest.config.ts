import { defineConfig } from 'vitest/config';

/**
 * End-to-end tests: real processes, the real OpenSSH server and Docker engine of tests/testbed.
 * One file at a time (they share the testbed), long timeouts.
 */
export default defineConfig({
  test: {
    include: ['tests/e2e/**/*.itg.test.ts'],
    fileParallelism: false,
    testTimeout: 180_000,
    hookTimeout: 180_000,
  },
});
