import { readFileSync } from 'node:fs';
import * as core from '@actions/core';
import { describe, expect, test, vi } from 'vitest';

// The boundary: every step starts by talking to the runner through @actions/core, so a step that
// started on import would show up here as a call.
vi.mock(import('@actions/core'), async (importOriginal) => {
  const actual = await importOriginal();
  return {
    ...actual,
    getInput: vi.fn(actual.getInput),
    getState: vi.fn(actual.getState),
    saveState: vi.fn(),
    setFailed: vi.fn(),
    setOutput: vi.fn(),
    info: vi.fn(),
    warning: vi.fn(),
  };
});

describe('the entry @github/local-action imports (src/run.ts)', () => {
  test('exports run() and starts nothing when imported', async () => {
    const entry = await import('../src/run.js');
    expect(typeof entry.run).toBe('function');
    // Anything started on import would have begun by now (main marks itself started at once).
    await new Promise((resolve) => setTimeout(resolve, 50));
    for (const fn of [core.getInput, core.getState, core.saveState, core.setFailed, core.info]) {
      expect(fn).not.toHaveBeenCalled();
    }
  });

  test('the bundle entry (src/index.ts) only calls run()', () => {
    const source = readFileSync(new URL('../src/index.ts', import.meta.url), 'utf8');
    expect(source).toMatch(/^import \{ run \} from '\.\/run\.js';$/m);
    expect(source).toMatch(/^void run\(\);$/m);
  });
});
