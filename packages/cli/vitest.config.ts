import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // These tests run the built CLI as real processes; some start twenty at once.
    testTimeout: 60_000,
  },
});
