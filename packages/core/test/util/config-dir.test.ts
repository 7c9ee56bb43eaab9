import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { findConfigDir } from '../../src/util/config-dir.js';
import { tempDir } from '../support/fixtures.js';

describe('.sandboxer/ is found as git finds .git', () => {
  test('from a subdirectory of the repository, the root’s .sandboxer/', () => {
    const repo = tempDir();
    mkdirSync(join(repo, '.git'));
    mkdirSync(join(repo, '.sandboxer'));
    mkdirSync(join(repo, 'services', 'api'), { recursive: true });
    expect(findConfigDir(join(repo, 'services', 'api'))).toBe(join(repo, '.sandboxer'));
    expect(findConfigDir(repo)).toBe(join(repo, '.sandboxer'));
  });

  test('the nearest one wins; nothing above the repository root is taken', () => {
    const outer = tempDir();
    mkdirSync(join(outer, '.sandboxer')); // e.g. a ~/.sandboxer state directory
    const repo = join(outer, 'repo');
    mkdirSync(join(repo, '.git'), { recursive: true });
    mkdirSync(join(repo, 'sub', '.sandboxer'), { recursive: true });
    expect(findConfigDir(join(repo, 'sub'))).toBe(join(repo, 'sub', '.sandboxer'));
    expect(findConfigDir(repo)).toBeUndefined();
  });

  test('outside a repository only the directory itself is looked at', () => {
    const outer = tempDir();
    mkdirSync(join(outer, '.sandboxer'));
    mkdirSync(join(outer, 'plain'));
    expect(findConfigDir(join(outer, 'plain'))).toBeUndefined();
    expect(findConfigDir(outer)).toBe(join(outer, '.sandboxer'));
  });
});
