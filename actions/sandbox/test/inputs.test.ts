import { afterEach, describe, expect, test } from 'vitest';
import { hostSpec } from '../src/context.js';
import { defaultConsumer, getInputs, parseKeyValueLines } from '../src/inputs.js';

/** @actions/core reads inputs from INPUT_<NAME> variables; set them as the runner does. */
function setInputs(inputs: Record<string, string>): void {
  for (const [name, value] of Object.entries(inputs)) process.env[`INPUT_${name.toUpperCase()}`] = value;
}

afterEach(() => {
  for (const key of Object.keys(process.env)) if (key.startsWith('INPUT_')) delete process.env[key];
});

describe('getInputs', () => {
  test('parses every input into a typed object with defaults', () => {
    setInputs({
      profile: 'compose-e2e',
      inputs: 'repo=.\n# a comment\n\ncompose_files=a.yml,b.yml\nenv=A=1',
      'ssh-port': '2222',
    });
    expect(getInputs()).toMatchObject({
      profile: 'compose-e2e',
      inputs: { repo: '.', compose_files: 'a.yml,b.yml', env: 'A=1' },
      sshPort: 2222,
      cleanup: true,
      logs: 'on-failure',
      host: undefined,
    });
  });

  test.each([
    [{}, 'Input required and not supplied: profile'],
    [{ profile: 'x', 'ssh-port': '0' }, 'input "ssh-port": expected a whole number from 1 to 65535, got "0"'],
    [
      { profile: 'x', 'wait-timeout': '1.5' },
      'input "wait-timeout": expected a whole number from 1 to 86400, got "1.5"',
    ],
    [{ profile: 'x', cleanup: 'yes' }, 'input "cleanup": expected true or false, got "yes"'],
    [
      { profile: 'x', logs: 'sometimes' },
      'input "logs": expected one of on-failure, always, never, got "sometimes"',
    ],
    [
      { profile: 'x', inputs: 'repo' },
      'input "inputs", line 1: expected key=value with a key like "repo", got "repo"',
    ],
    [{ profile: 'x', inputs: 'ok=1\nBad Key=2' }, 'input "inputs", line 2: expected key=value'],
  ])('%j → %s', (inputs, message) => {
    setInputs(inputs);
    expect(() => getInputs()).toThrow(message);
  });
});

test('key=value lines keep "=" in values and skip comments', () => {
  expect(parseKeyValueLines('a=b=c\r\n  # x\n\nd= e ')).toEqual({ a: 'b=c', d: 'e' });
});

test('the default consumer names the repository, run, attempt and job', () => {
  expect(
    defaultConsumer({
      GITHUB_REPOSITORY: 'o/r',
      GITHUB_RUN_ID: '9',
      GITHUB_RUN_ATTEMPT: '2',
      GITHUB_JOB: 'e2e',
    }),
  ).toBe('o/r#9.2/e2e');
});

test('in a matrix, each leg gets its own consumer; a duplicate key in `inputs` is refused', () => {
  const env = { GITHUB_REPOSITORY: 'o/r', GITHUB_RUN_ID: '9', GITHUB_RUN_ATTEMPT: '1', GITHUB_JOB: 'e2e' };
  expect(defaultConsumer(env, { index: 2, total: 3 })).toBe('o/r#9.1/e2e/2');
  expect(defaultConsumer(env, { index: 0, total: 1 })).toBe('o/r#9.1/e2e');
  expect(() => parseKeyValueLines('repo=.\nrepo=sub')).toThrow(/line 2: repo is given twice/);
});

test.each([
  [{ host: undefined }, undefined],
  [{ host: 'docker-1' }, 'docker-1'],
  [{ host: 'u@h:22', sshUser: 'other' }, 'u@h:22'],
  [{ host: '10.0.0.5', sshUser: 'deploy' }, 'deploy@10.0.0.5'],
  [{ host: '10.0.0.5', sshUser: 'deploy', sshPort: 2222 }, 'deploy@10.0.0.5:2222'],
])('host %j → %s', (inputs, expected) => {
  expect(hostSpec({ sshUser: undefined, sshPort: undefined, ...inputs })).toBe(expected);
});
