import { describe, expect, test } from 'vitest';
import { logLines } from '../../src/reach/log-lines.js';

describe('logLines: whole lines, each with its service, however chunks were cut', () => {
  test('chunks split mid-line and interleaved between services', () => {
    const out: string[] = [];
    const lines = logLines((line) => out.push(line));
    lines.write('web', 'GET / 2');
    lines.write('db', 'ready\nlisten');
    lines.write('web', '00\nGET /x 404\n');
    expect(out).toEqual(['db | ready\n', 'web | GET / 200\n', 'web | GET /x 404\n']);
    lines.flush();
    expect(out.at(-1)).toBe('db | listen\n');
    lines.flush();
    expect(out).toHaveLength(4);
  });
});
