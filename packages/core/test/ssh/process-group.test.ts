import { spawnSync } from 'node:child_process';
import { describe, expect, test } from 'vitest';
import { GroupReport } from '../../src/ssh/process-group.js';

describe('GroupReport: a stoppable command first says its process group', () => {
  test('the prefix, run by a real sh, prints the shell pid on stderr before the command runs', () => {
    const result = spawnSync('sh', ['-c', `${GroupReport.PREFIX} echo out; echo err >&2`], {
      encoding: 'utf8',
    });
    expect(result.stdout).toBe('out\n');
    expect(result.stderr).toMatch(/^sand-boxer-pgid \d+\nerr\n$/);
  });

  test('the line is taken off stderr however the chunks are cut; the rest is passed on', () => {
    const report = new GroupReport();
    const text = 'sand-boxer-pgid 4242\nwarning: x\n';
    const seen: string[] = [];
    for (const piece of [text.slice(0, 5), text.slice(5, 18), text.slice(18, 23), text.slice(23)]) {
      seen.push(report.take(Buffer.from(piece)).toString());
    }
    expect(report.pgid).toBe(4242);
    expect(seen.join('')).toBe('warning: x\n');
    expect(report.take(Buffer.from('later\n')).toString()).toBe('later\n');
  });

  test('stderr that does not start with the line (a shell that could not run it) is kept whole', () => {
    const report = new GroupReport();
    expect(report.take(Buffer.from('sh: printf: not found\n')).toString()).toBe('sh: printf: not found\n');
    expect(report.pgid).toBeUndefined();
    const long = new GroupReport();
    const noNewline = 'x'.repeat(100);
    expect(long.take(Buffer.from(noNewline)).toString()).toBe(noNewline);
  });
});
