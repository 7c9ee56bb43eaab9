import { describe, expect, test } from 'vitest';
import { formatDuration, parseDurationSeconds } from '../../src/util/duration.js';
import { closestName } from '../../src/util/suggest.js';

describe('durations as people write them', () => {
  test.each([
    ['90s', 90],
    ['30m', 1800],
    ['2h', 7200],
    ['1d', 86_400],
    ['1h30m', 5400],
    ['1.5h', 5400],
    ['1d12h', 129_600],
    ['0.1h', 360],
    ['2m30s', 150],
    ['600', 600],
    [' 45m ', 2700],
  ])('%s is %i s', (text, seconds) => {
    expect(parseDurationSeconds(text)).toBe(seconds);
  });

  test.each(['', '0', '0s', '1.5s', 'soon', '30m1h', '1h 30m', '-5m', '1w', 'h'])('%j is refused', (text) => {
    expect(parseDurationSeconds(text)).toBeUndefined();
  });

  test.each([
    [5400, '1h30m'],
    [3600, '1h'],
    [90, '1m30s'],
    [36_035, '10h35s'],
    [86_400, '1d'],
    [0, '0s'],
  ])('%i s is written %s, and reads back the same', (seconds, text) => {
    expect(formatDuration(seconds)).toBe(text);
    if (seconds > 0) expect(parseDurationSeconds(text)).toBe(seconds);
  });
});

describe('did you mean', () => {
  test.each([
    ['compose_fle', ['compose_files', 'services', 'repo'], 'compose_files'],
    ['proflie', ['profile', 'host'], 'profile'],
    ['colour', ['repo', 'wait_timeout'], undefined],
    ['rep', ['repo'], 'repo'],
  ])('%s among %j → %s', (typed, known, expected) => {
    expect(closestName(typed, known)).toBe(expected);
  });
});
