import { describe, expect, test } from 'vitest';
import { InputError } from '../../src/errors.js';
import {
  composeRuntime,
  logsCommand,
  PROJECT_LABEL,
  serviceExecCommand,
} from '../../src/extensions/builtin/compose-ssh/commands.js';
import { workspaceExecCommand } from '../../src/extensions/builtin/remote-workspace/channel.js';
import { tempDir } from '../support/fixtures.js';
import { fakeBin, hostileValues } from './fake-bin.js';

/**
 * `sandboxer exec` (and POST …/exec) builds one command line for the host's shell: run by a real
 * `sh -c` here, every argument must reach the program exactly as given and nothing may be run.
 */

const docker = composeRuntime('docker-compose');
/** Hostile values with the marker of a fresh fake bin, one row per value. */
const hostileRows = hostileValues('<marker>');
const withMarker = (value: string, marker: string) => value.replaceAll('<marker>', marker);
const ID = 'c0ffee123456';

describe('exec in the workspace', () => {
  test.each(hostileRows)('%s reaches the program as one argument', (_what, raw) => {
    const fake = fakeBin(['prog']);
    const value = withMarker(raw, fake.marker);
    const dir = tempDir("it's a dir ");
    const remote = workspaceExecCommand(dir, ['prog', value, `multi\nline`, value]);
    const result = fake.run(remote);
    expect(result.status).toBe(0);
    const [call] = fake.calls();
    expect(call?.args).toEqual([value, 'multi\nline', value]);
    expect(call?.cwd).toBe(dir);
    expect(fake.pwned()).toEqual([]);
  });

  test("the command's exit code is the shell's", () => {
    const fake = fakeBin(['prog'], { exitCode: 42 });
    expect(fake.run(workspaceExecCommand(tempDir(), ['prog'])).status).toBe(42);
  });

  test('a directory that is gone fails before anything runs', () => {
    const fake = fakeBin(['prog']);
    expect(fake.run(workspaceExecCommand('/no/such/dir', ['prog'])).status).not.toBe(0);
    expect(fake.calls()).toEqual([]);
  });
});

describe('exec in a compose service', () => {
  test.each(hostileRows)('%s reaches `docker exec -i <container>` as one argument', (_what, raw) => {
    const fake = fakeBin(['docker'], { outputs: [{ args: ['ps'], stdout: `${ID}\n` }] });
    const value = withMarker(raw, fake.marker);
    const result = fake.run(serviceExecCommand(docker, 'sbx-abc', 'web', ['sh', '-c', value, value]));
    expect(result.status).toBe(0);
    const [ps, exec] = fake.calls();
    expect(ps?.args).toEqual([
      'ps',
      '-q',
      '--filter',
      `label=${PROJECT_LABEL}=sbx-abc`,
      '--filter',
      'label=com.docker.compose.service=web',
    ]);
    expect(exec?.args).toEqual(['exec', '-i', ID, 'sh', '-c', value, value]);
    expect(fake.pwned()).toEqual([]);
  });

  test('a service with no running container: exit 127 and a message naming it', () => {
    const fake = fakeBin(['docker']);
    const result = fake.run(serviceExecCommand(docker, 'sbx-abc', 'worker', ['true']));
    expect(result.status).toBe(127);
    expect(result.stderr).toContain('no running container of service worker');
    expect(fake.calls().map((c) => c.args[0])).toEqual(['ps']);
  });

  test.each(['', '-rm', 'web;id', 'we b', '../x'])(
    'service %j is refused before a command is built',
    (service) => {
      expect(() => serviceExecCommand(docker, 'sbx-abc', service, ['true'])).toThrow(InputError);
    },
  );

  test('podman runs it with podman', () => {
    const fake = fakeBin(['podman'], { outputs: [{ args: ['ps'], stdout: `${ID}\n` }] });
    fake.run(serviceExecCommand(composeRuntime('podman-compose'), 'sbx-abc', 'web', ['true']));
    expect(fake.calls().map((c) => c.name)).toEqual(['podman', 'podman']);
  });
});

describe('logsCommand', () => {
  test.each([
    [{ lines: 100 }, ['logs', '--tail', '100', ID]],
    [{ lines: 5, since: '10m' }, ['logs', '--tail', '5', '--since', '10m', ID]],
    [
      { lines: 0, since: '2026-12-07T10:00:00Z', follow: true },
      ['logs', '--tail', '0', '--since', '2026-12-07T10:00:00Z', '--follow', ID],
    ],
  ])('%j', (options, args) => {
    const fake = fakeBin(['docker']);
    fake.run(logsCommand(docker, ID, options));
    expect(fake.calls()[0]?.args).toEqual(args);
  });

  test.each(['-3', '--all', '10m; id', '$(id)', 'x'.repeat(41)])(
    'since %j is refused, naming the field',
    (since) => {
      expect(() => logsCommand(docker, ID, { lines: 1, since })).toThrow(/since: expected a duration/);
    },
  );
});
