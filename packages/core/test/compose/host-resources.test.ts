import { spawnSync } from 'node:child_process';
import { describe, expect, test } from 'vitest';
import {
  hostResourcesCommand,
  parseHostResources,
} from '../../src/extensions/builtin/remote-workspace/host-resources.js';

describe('the host resources probe', () => {
  test('run by a real sh: free disk of the nearest existing parent of the base dir, and available memory', () => {
    const result = spawnSync('sh', ['-c', hostResourcesCommand("/tmp/no such/base dir's")], {
      encoding: 'utf8',
    });
    expect(result.status).toBe(0);
    const found = parseHostResources(result.stdout);
    expect(found.free_disk_bytes).toBeGreaterThan(0);
    expect(found.free_memory_bytes).toBeGreaterThan(0);
  });

  test.each([
    ['1024\n2048\n', { free_disk_bytes: 1024 * 1024, free_memory_bytes: 2048 * 1024 }],
    ['1024\n\n', { free_disk_bytes: 1024 * 1024 }],
    ['\n', {}],
    ['garbage\nmore\n', {}],
  ])('%j', (output, expected) => {
    expect(parseHostResources(output)).toEqual(expected);
  });
});
