import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { InputError } from '../../src/errors.js';
import {
  type ComposeProject,
  cleanUpScript,
  composeCommand,
  composeFilesInput,
  composeRuntime,
  envInput,
  inspectProjectCommand,
  listInput,
  logsTailCommand,
  PROJECT_LABEL,
  pasteable,
  servicesInput,
  sweepProjectCommand,
  TEARDOWN_SECTION,
} from '../../src/extensions/builtin/compose-ssh/commands.js';
import { switchDirOf } from '../../src/extensions/builtin/remote-workspace/expiry-switch.js';
import {
  createWorkspaceCommand,
  markerContent,
  sandboxDirOf,
} from '../../src/extensions/builtin/remote-workspace/workspace.js';
import { quote } from '../../src/ssh/quote.js';
import { fakeBin, hostileValues } from './fake-bin.js';

const FORMAT =
  '{"id":"{{.Id}}","labels":{{json .Config.Labels}},"state":{{json .State}},"ports":{{json .NetworkSettings.Ports}},"mounts":{{json .Mounts}},"healthcheck":{{json (index .Config "Healthcheck")}}}';
/** Podman's inspect data is a struct: its healthcheck is a plain field. */
const PODMAN_FORMAT = FORMAT.replace(
  '{{json (index .Config "Healthcheck")}}',
  '{{json .Config.Healthcheck}}',
);
const ID_A = 'a1b2c3d4e5f6a1b2c3d4e5f6a1b2c3d4e5f6a1b2c3d4e5f6a1b2c3d4e5f6abcd';
const ID_B = '0123456789ab';
const docker = composeRuntime('docker compose');
const podman = composeRuntime('podman-compose');

/** Hostile values with the marker of a fresh fake bin, one row per value. */
const hostileRows = hostileValues('<marker>');
const withMarker = (value: string, marker: string) => value.replaceAll('<marker>', marker);

describe('composeRuntime', () => {
  test.each([
    ['docker compose', ['docker', 'compose'], 'docker'],
    ['docker-compose', ['docker-compose'], 'docker'],
    ['podman-compose', ['podman-compose'], 'podman'],
    ['podman compose', ['podman', 'compose'], 'podman'],
    ['  docker   compose  ', ['docker', 'compose'], 'docker'],
    ['docker\tcompose', ['docker', 'compose'], 'docker'],
    // Any whitespace separates words; each word is quoted again when the command is built.
    ['docker\ncompose', ['docker', 'compose'], 'docker'],
    ['/usr/local/bin/docker-compose', ['/usr/local/bin/docker-compose'], 'docker'],
    ['docker compose --ansi never', ['docker', 'compose', '--ansi', 'never'], 'docker'],
    ['docker_compose.v2', ['docker_compose.v2'], 'docker'],
    // The engine comes from the first word's basename, so a full path to podman-compose is podman.
    ['/usr/bin/podman-compose', ['/usr/bin/podman-compose'], 'podman'],
    ['/opt/podman/bin/podman compose', ['/opt/podman/bin/podman', 'compose'], 'podman'],
    ['/opt/podman/bin/docker-compose', ['/opt/podman/bin/docker-compose'], 'docker'],
    ['./podman-compose', ['./podman-compose'], 'podman'],
    // Only the first word may not look like an option.
    [
      'podman-compose --podman-path /usr/bin/podman',
      ['podman-compose', '--podman-path', '/usr/bin/podman'],
      'podman',
    ],
  ])('%j → %j on %s', (text, words, engine) => {
    expect(composeRuntime(text)).toEqual({ words, engine });
  });

  test.each([
    ['docker; rm -rf ~'],
    ['$(x)'],
    ['`id`'],
    [''],
    ['   '],
    ['docker compose && id'],
    ['docker|sh'],
    ["docker 'compose'"],
    ['docker compose > /tmp/x'],
    ['docker ~/compose'],
    ['docker compose=1'],
    ['docker *'],
    // The first word follows `env`, which would take a leading "-" as its own option.
    ['-i docker compose'],
    ['--ansi never docker compose'],
    ['-'],
    ['  -u PATH podman-compose'],
  ])('refuses %j', (text) => {
    expect(() => composeRuntime(text)).toThrow(InputError);
    expect(() => composeRuntime(text)).toThrow(
      `compose command ${JSON.stringify(text)}: expected words like "docker compose", "docker-compose" or "podman-compose"`,
    );
  });

  test('/usr/bin/podman-compose runs on podman: inspect and sweep use the podman CLI', () => {
    const runtime = composeRuntime('/usr/bin/podman-compose');
    expect(inspectProjectCommand(runtime, 'sbx-abc')).toMatch(/^ids=\$\(podman ps /);
    expect(sweepProjectCommand(runtime, 'sbx-abc')).toContain('xs=$(podman ps -aq ');
  });
});

describe('composeCommand', () => {
  const project: ComposeProject = {
    runtime: docker,
    dir: '/home/u/sandboxer/sbx-abc',
    project: 'sbx-abc',
    files: ['docker-compose.yml', '.sandboxer.labels.yml'],
    env: { API_URL: 'http://api:8080/v1', TAG: 'v 1' },
  };

  test.each<[string, ComposeProject, string[], string]>([
    [
      'files, env and args',
      project,
      ['up', '-d'],
      "cd -- /home/u/sandboxer/sbx-abc && env API_URL=http://api:8080/v1 'TAG=v 1' docker compose -p sbx-abc -f docker-compose.yml -f .sandboxer.labels.yml up -d",
    ],
    [
      'no env',
      { ...project, env: {} },
      ['config'],
      'cd -- /home/u/sandboxer/sbx-abc && env docker compose -p sbx-abc -f docker-compose.yml -f .sandboxer.labels.yml config',
    ],
    [
      'no files, no args',
      { ...project, files: [], env: {} },
      [],
      'cd -- /home/u/sandboxer/sbx-abc && env docker compose -p sbx-abc',
    ],
    [
      'docker-compose v1',
      { ...project, runtime: composeRuntime('docker-compose'), files: ['a.yml'], env: {} },
      ['down', '-v', '--remove-orphans', '-t', '10'],
      'cd -- /home/u/sandboxer/sbx-abc && env docker-compose -p sbx-abc -f a.yml down -v --remove-orphans -t 10',
    ],
    [
      'podman-compose, a dir with a space, an empty env value',
      { ...project, runtime: podman, dir: '/srv/my sandboxes/sbx-1', files: ['a.yml'], env: { EMPTY: '' } },
      ['ps'],
      "cd -- '/srv/my sandboxes/sbx-1' && env EMPTY= podman-compose -p sbx-abc -f a.yml ps",
    ],
    [
      'shell characters in env values are quoted',
      {
        ...project,
        files: ['a.yml'],
        env: { A: 'x;y', B: 'p && q', C: '`id`', D: '$(id)', E: "it's" },
      },
      ['up'],
      `cd -- /home/u/sandboxer/sbx-abc && env 'A=x;y' 'B=p && q' 'C=\`id\`' 'D=$(id)' 'E=it'\\''s' docker compose -p sbx-abc -f a.yml up`,
    ],
  ])('%s', (_name, p, args, expected) => {
    expect(composeCommand(p, ...args)).toBe(expected);
  });

  test.each([
    ['docker compose', 'docker', ['compose']],
    ['docker-compose', 'docker-compose', []],
    ['podman-compose', 'podman-compose', []],
    ['podman compose', 'podman', ['compose']],
  ])('runs %s in the project dir with the env set', (text, program, prefix) => {
    const fake = fakeBin(['docker', 'docker-compose', 'podman', 'podman-compose']);
    const dir = join(fake.root, 'sbx-abc');
    mkdirSync(dir);
    const p: ComposeProject = {
      runtime: composeRuntime(text),
      dir,
      project: 'sbx-abc',
      files: ['docker-compose.yml'],
      env: { API_URL: 'http://x', TAG: 'v 1' },
    };
    expect(fake.run(composeCommand(p, 'up', '-d')).status).toBe(0);
    const calls = fake.calls();
    expect(calls).toHaveLength(1);
    expect(calls[0]?.name).toBe(program);
    expect(calls[0]?.args).toEqual([...prefix, '-p', 'sbx-abc', '-f', 'docker-compose.yml', 'up', '-d']);
    expect(calls[0]?.cwd).toBe(realpathSync(dir));
    expect(calls[0]?.env.API_URL).toBe('http://x');
    expect(calls[0]?.env.TAG).toBe('v 1');
  });

  test('does not run compose when the directory is missing', () => {
    const fake = fakeBin(['docker']);
    const p = { ...project, dir: join(fake.root, 'gone') };
    expect(fake.run(composeCommand(p, 'down')).status).not.toBe(0);
    expect(fake.calls()).toEqual([]);
  });
});

/**
 * The key check: user text goes through the same input parsers as in provision, the built command
 * runs in a real `sh -c`, and the fake compose must see every value byte for byte while nothing
 * the values spell out runs.
 */
describe('hostile user text reaches compose as data, never as shell', () => {
  test('the harness notices an injection when a value is not quoted', () => {
    const fake = fakeBin(['docker']);
    const result = fake.run(`docker compose -p $(touch ${fake.marker}) x`);
    expect(result.status).toBe(0);
    expect(fake.pwned()).toEqual([fake.marker]);
    expect(fake.calls()[0]?.args).toEqual(['compose', '-p', 'x']);
  });

  test.each(hostileRows)(
    'composeCommand: %s in env, compose file, project dir, project and args',
    (_n, raw) => {
      const fake = fakeBin(['docker']);
      const value = withMarker(raw, fake.marker);
      const dir = join(fake.root, 'work', `sbx ${value}`);
      mkdirSync(dir, { recursive: true });
      const files = composeFilesInput(`${value}, docker-compose.yml`, dir);
      expect(files).toEqual([value.trim(), 'docker-compose.yml']);
      const env = envInput(`API_URL=${value}\nPLAIN=1`);
      expect(env).toEqual({ API_URL: value, PLAIN: '1' });

      const built = composeCommand({ runtime: docker, dir, project: value, files, env }, 'up', '-d', value);
      const result = fake.run(built);

      expect(result.status, result.stderr).toBe(0);
      expect(fake.pwned()).toEqual([]);
      const calls = fake.calls();
      expect(calls).toHaveLength(1);
      expect(calls[0]?.args).toEqual([
        'compose',
        '-p',
        value,
        '-f',
        value.trim(),
        '-f',
        'docker-compose.yml',
        'up',
        '-d',
        value,
      ]);
      expect(calls[0]?.cwd).toBe(realpathSync(dir));
      expect(calls[0]?.env.API_URL).toBe(value);
      expect(calls[0]?.env.PLAIN).toBe('1');
    },
  );

  test('newlines and control characters (impossible through envInput) are still one argument', () => {
    const fake = fakeBin(['docker']);
    const value = `a\ntouch ${fake.marker}\n\r\x01b`;
    const dir = join(fake.root, 'sbx');
    mkdirSync(dir);
    const built = composeCommand(
      { runtime: docker, dir, project: 'p', files: [value], env: { X: value } },
      value,
    );
    expect(fake.run(built).status).toBe(0);
    expect(fake.pwned()).toEqual([]);
    expect(fake.calls()[0]?.args).toEqual(['compose', '-p', 'p', '-f', value, value]);
    expect(fake.calls()[0]?.env.X).toBe(value);
  });

  test.each(hostileRows)('inspectProjectCommand: %s as the project', (_n, raw) => {
    const fake = fakeBin(['docker'], { outputs: [{ args: ['ps'], stdout: `${ID_A}\n${ID_B}\n` }] });
    const value = withMarker(raw, fake.marker);
    const result = fake.run(inspectProjectCommand(docker, value));
    expect(result.status, result.stderr).toBe(0);
    expect(fake.pwned()).toEqual([]);
    expect(fake.calls().map((c) => c.args)).toEqual([
      ['ps', '-aq', '--filter', `label=${PROJECT_LABEL}=${value}`],
      ['inspect', '--format', FORMAT, ID_A, ID_B],
    ]);
  });

  test.each(hostileRows)('sweepProjectCommand: %s as the project', (_n, raw) => {
    const fake = fakeBin(['podman'], { outputs: [{ args: ['ps'], stdout: `${ID_B}\n` }] });
    const value = withMarker(raw, fake.marker);
    const result = fake.run(sweepProjectCommand(podman, value));
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toBe(`container ${ID_B}\n`);
    expect(fake.pwned()).toEqual([]);
    const filter = ['--filter', `label=${PROJECT_LABEL}=${value}`];
    expect(fake.calls().map((c) => [c.name, ...c.args])).toEqual([
      ['podman', 'ps', '-aq', ...filter],
      ['podman', 'rm', '-f', '-v', ID_B],
      ['podman', 'network', 'ls', '-q', ...filter],
      ['podman', 'volume', 'ls', '-q', ...filter],
      ['podman', 'images', '--format', '{{.Repository}}:{{.Tag}}'],
    ]);
  });

  test.each(hostileRows)('servicesInput refuses %s', (_n, raw) => {
    const value = withMarker(raw, '/tmp/pwned').trim();
    expect(() => servicesInput(value)).toThrow(InputError);
  });
});

describe('inspectProjectCommand', () => {
  test.each([
    [
      docker,
      'sbx-abc',
      `ids=$(docker ps -aq --filter label=com.docker.compose.project=sbx-abc) || exit 3; [ -z "$ids" ] || docker inspect --format '${FORMAT}' $ids`,
    ],
    [
      podman,
      'sbx 1',
      `ids=$(podman ps -aq --filter 'label=com.docker.compose.project=sbx 1') || exit 3; [ -z "$ids" ] || podman inspect --format '${PODMAN_FORMAT}' $ids`,
    ],
  ])('%j, %s', (runtime, project, expected) => {
    expect(inspectProjectCommand(runtime, project)).toBe(expected);
  });

  test('with no containers it inspects nothing and succeeds with no output', () => {
    const fake = fakeBin(['docker']);
    const result = fake.run(inspectProjectCommand(docker, 'sbx-abc'));
    expect(result).toMatchObject({ status: 0, stdout: '' });
    expect(fake.calls().map((c) => c.args[0])).toEqual(['ps']);
  });
});

describe('logsTailCommand', () => {
  test.each([
    [docker, ID_B, 50, `docker logs --tail 50 ${ID_B} 2>&1`],
    [podman, ID_A, 200, `podman logs --tail 200 ${ID_A} 2>&1`],
  ])('%j %s %i', (runtime, id, lines, expected) => {
    expect(logsTailCommand(runtime, id, lines)).toBe(expected);
  });

  test.each([
    ['too short', '0123456789a'],
    ['too long', `${ID_A}0`],
    ['upper case', 'ABCDEF012345'],
    ['a name', 'sbx-abc-web-1'],
    ['empty', ''],
    ['injection', `${ID_B}; rm -rf ~`],
    ['substitution', '$(touch /tmp/pwned)'],
    ['trailing newline', `${ID_B}\n`],
  ])('refuses %s', (_name, id) => {
    expect(() => logsTailCommand(docker, id, 50)).toThrow(InputError);
    expect(() => logsTailCommand(docker, id, 50)).toThrow(`not a container id: ${id}`);
  });

  test('merges stderr into stdout', () => {
    const fake = fakeBin(['docker']);
    const result = fake.run(`${logsTailCommand(docker, ID_B, 5)}; echo done`);
    expect(result.stdout).toBe('done\n');
    expect(fake.calls()[0]?.args).toEqual(['logs', '--tail', '5', ID_B]);
  });
});

describe('sweepProjectCommand', () => {
  test('exact command', () => {
    const f = '--filter label=com.docker.compose.project=sbx-abc';
    expect(sweepProjectCommand(docker, 'sbx-abc')).toBe(
      [
        `xs=$(docker ps -aq ${f}) || exit 3; for x in $xs; do docker rm -f -v "$x" >/dev/null && echo container "$x"; done`,
        `xs=$(docker network ls -q ${f}) || exit 3; for x in $xs; do docker network rm "$x" >/dev/null && echo network "$x"; done`,
        `xs=$(docker volume ls -q ${f}) || exit 3; for x in $xs; do docker volume rm -f "$x" >/dev/null && echo volume "$x"; done`,
        `xs=$(docker images --format '{{.Repository}}:{{.Tag}}') || exit 3; for x in $xs; do case "$x" in sbx-abc_*|sbx-abc-*|localhost/sbx-abc_*|localhost/sbx-abc-*) docker rmi "$x" >/dev/null 2>&1 && echo image "$x";; esac; done`,
        'true',
      ].join('; '),
    );
  });

  test('removes containers, then networks, then volumes; reports each; a failed rm is skipped, not fatal', () => {
    const fake = fakeBin(['docker'], {
      outputs: [
        { args: ['ps'], stdout: `${ID_A}\n${ID_B}\n` },
        { args: ['network', 'ls'], stdout: 'f00dfeedbeef\n' },
        { args: ['volume', 'ls'], stdout: 'sbx-abc_data\nsbx-abc_cache\n' },
      ],
      failOn: [ID_B, 'sbx-abc_cache'],
    });
    const result = fake.run(sweepProjectCommand(docker, 'sbx-abc'));
    expect(result.status).toBe(0);
    expect(result.stdout).toBe(`container ${ID_A}\nnetwork f00dfeedbeef\nvolume sbx-abc_data\n`);
    const filter = ['--filter', 'label=com.docker.compose.project=sbx-abc'];
    expect(fake.calls().map((c) => c.args)).toEqual([
      ['ps', '-aq', ...filter],
      ['rm', '-f', '-v', ID_A],
      ['rm', '-f', '-v', ID_B],
      ['network', 'ls', '-q', ...filter],
      ['network', 'rm', 'f00dfeedbeef'],
      ['volume', 'ls', '-q', ...filter],
      ['volume', 'rm', '-f', 'sbx-abc_data'],
      ['volume', 'rm', '-f', 'sbx-abc_cache'],
      ['images', '--format', '{{.Repository}}:{{.Tag}}'],
    ]);
  });

  test.each([
    ['Compose v1', 'sbx-abcdefghijkl_web:latest'],
    ['Compose v2', 'sbx-abcdefghijkl-web:latest'],
    ['podman-compose', 'localhost/sbx-abcdefghijkl_web:latest'],
  ])('removes the image %s built for the project (%s), and no other', (_kind, built) => {
    const fake = fakeBin(['docker'], {
      outputs: [
        {
          args: ['images'],
          stdout: [
            built,
            'sbx-abcdefghijkm_web:latest', // another sandbox
            'sandboxer-test/busybox:latest',
            'myapp/sbx-abcdefghijkl_web:latest', // a name of the user's that merely contains it
            '<none>:<none>',
          ].join('\n'),
        },
      ],
    });
    const result = fake.run(sweepProjectCommand(docker, 'sbx-abcdefghijkl'));
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toBe(`image ${built}\n`);
    expect(
      fake
        .calls()
        .filter((c) => c.args[0] === 'rmi')
        .map((c) => c.args),
    ).toEqual([['rmi', built]]);
  });

  test('nothing labelled: no output, exit 0', () => {
    const fake = fakeBin(['docker']);
    expect(fake.run(sweepProjectCommand(docker, 'sbx-abc'))).toMatchObject({ status: 0, stdout: '' });
  });
});

describe('listInput', () => {
  test.each<[string | undefined, string[]]>([
    [undefined, []],
    ['', []],
    [' , ,\n', []],
    ['a', ['a']],
    ['a,b', ['a', 'b']],
    [' a , b ,', ['a', 'b']],
    ['a\nb\r\n c ', ['a', 'b', 'c']],
    ['a, b\nc', ['a', 'b', 'c']],
    ['with space', ['with space']],
  ])('%j → %j', (text, expected) => {
    expect(listInput(text)).toEqual(expected);
  });
});

describe('composeFilesInput', () => {
  const dir = '/srv/sandboxer/sbx-1';

  test.each<[string, string | undefined, string[]]>([
    ['one file', 'docker-compose.yml', ['docker-compose.yml']],
    ['comma list', 'compose.yml, compose.prod.yml', ['compose.yml', 'compose.prod.yml']],
    ['newline list', 'a.yml\nb.yml\n', ['a.yml', 'b.yml']],
    ['a subdirectory', 'deploy/compose.yml', ['deploy/compose.yml']],
    ['.. that stays inside (kept as written)', 'deploy/../compose.yml', ['deploy/../compose.yml']],
    ['- (compose reads stdin; inside the dir as a name)', '-', ['-']],
  ])('%s', (_name, text, expected) => {
    expect(composeFilesInput(text, dir)).toEqual(expected);
  });

  test.each([undefined, '', ' , \n '])('%j: names at least one file', (text) => {
    expect(() => composeFilesInput(text, dir)).toThrow(InputError);
    expect(() => composeFilesInput(text, dir)).toThrow(
      'input "compose_files": name at least one compose file',
    );
  });

  test.each([
    ['../../etc/passwd', '../../etc/passwd'],
    ['../sbx-2/compose.yml', '../sbx-2/compose.yml'],
    ['a/../../x.yml', 'a/../../x.yml'],
    ['.', '.'],
    ['ok.yml, ../x.yml', '../x.yml'],
  ])('refuses %j', (text, bad) => {
    expect(() => composeFilesInput(text, dir)).toThrow(InputError);
    expect(() => composeFilesInput(text, dir)).toThrow(`path ${JSON.stringify(bad)} resolves outside ${dir}`);
  });

  test('refuses a dir that is not absolute and normal', () => {
    expect(() => composeFilesInput('a.yml', 'relative/dir')).toThrow(InputError);
  });

  // Compose would read an absolute file as written, outside the sandbox directory.
  test.each([
    ['/etc/passwd', '/etc/passwd'],
    ['/home/other/compose.yml', '/home/other/compose.yml'],
    // Even a path inside the sandbox directory: the input is relative to the repo.
    [`${dir}/docker-compose.yml`, `${dir}/docker-compose.yml`],
    ['ok.yml, /etc/passwd', '/etc/passwd'],
    ['  /etc/passwd  ', '/etc/passwd'],
  ])('refuses the absolute path in %j', (text, bad) => {
    expect(() => composeFilesInput(text, dir)).toThrow(InputError);
    expect(() => composeFilesInput(text, dir)).toThrow(
      `input "compose_files": ${JSON.stringify(bad)} must be relative to the repo, not absolute`,
    );
  });
});

describe('servicesInput', () => {
  test.each<[string | undefined, string[]]>([
    [undefined, []],
    ['', []],
    ['web', ['web']],
    ['web, db', ['web', 'db']],
    ['web\nworker_1\napi.v2\nx-y', ['web', 'worker_1', 'api.v2', 'x-y']],
    ['0day', ['0day']],
  ])('%j → %j', (text, expected) => {
    expect(servicesInput(text)).toEqual(expected);
  });

  test.each([
    ['-web', '-web'],
    ['_web', '_web'],
    ['.web', '.web'],
    ['web db', 'web db'],
    ['web;id', 'web;id'],
    ['ok, $(id)', '$(id)'],
    ['wéb', 'wéb'],
  ])('refuses %j', (text, bad) => {
    expect(() => servicesInput(text)).toThrow(InputError);
    expect(() => servicesInput(text)).toThrow(
      `input "services": ${JSON.stringify(bad)} is not a service name`,
    );
  });
});

describe('envInput', () => {
  test.each<[string | undefined, Record<string, string>]>([
    [undefined, {}],
    ['', {}],
    ['\n  \n', {}],
    ['API_URL=http://x', { API_URL: 'http://x' }],
    ['A=1\nB=2\n', { A: '1', B: '2' }],
    ['A=', { A: '' }],
    ['A=b=c', { A: 'b=c' }],
    ['  KEY  = value ', { KEY: ' value ' }],
    ['_x1=1', { _x1: '1' }],
    ['A=1\nA=2', { A: '2' }],
    ["A=x;y && `z` $(w) 'q'", { A: "x;y && `z` $(w) 'q'" }],
    // Lines only: a value may contain commas.
    ['A=1,B=2', { A: '1,B=2' }],
    ['A=1\r\nB=2\r\n', { A: '1', B: '2' }],
    ['A=1\r\n\r\nB=x y\r\n', { A: '1', B: 'x y' }],
    // Only a CR before a newline ends a line; any other CR stays in the value.
    ['A=1\rB=2', { A: '1\rB=2' }],
  ])('%j → %j', (text, expected) => {
    expect(envInput(text)).toEqual(expected);
  });

  test.each([
    ['no =', 'JUST_A_KEY'],
    ['empty key', '=value'],
    ['space key', ' =value'],
    ['digit first', '1A=x'],
    ['dash', 'API-URL=x'],
    ['dot', 'a.b=x'],
    ['space inside', 'A B=x'],
    ['export prefix', 'export A=x'],
    ['substitution', '$(id)=x'],
    ['comment', '# A=x'],
  ])('refuses %s', (_name, line) => {
    expect(() => envInput(`OK=1\n${line}\nLATER=2`)).toThrow(InputError);
    expect(() => envInput(`OK=1\n${line}\nLATER=2`)).toThrow(
      `input "env": expected KEY=VALUE lines with KEY like "API_URL", got ${JSON.stringify(line)}`,
    );
  });
});

describe('pasteable', () => {
  test.each([
    [['docker', 'rm', '-f', ID_B], `docker rm -f ${ID_B}`],
    [['rm', '-rf', '--', '/srv/my dir'], "rm -rf -- '/srv/my dir'"],
    [['echo', "it's"], `echo 'it'\\''s'`],
  ])('%j → %s', (args, expected) => {
    expect(pasteable(...args)).toBe(expected);
  });
});

describe('cleanUpScript (after compose down), run in sh with a fake docker', () => {
  const SANDBOX = 'abc123def456';
  const LEFT = `{"id":"${ID_B}","labels":{},"state":{"Status":"running"},"ports":{},"mounts":[]}`;

  /** A base with this sandbox's directory, its switch file and a sync cache, as provision leaves them. */
  function hostWith(containersLeft: string) {
    const fake = fakeBin(['docker'], {
      outputs: [
        { args: ['ps', '-aq'], stdout: containersLeft },
        ...(containersLeft ? [{ args: ['inspect'], stdout: `${LEFT}\n` }] : []),
      ],
    });
    const base = join(fake.root, 'sandboxer');
    const dir = sandboxDirOf(base, SANDBOX);
    expect(
      fake.run(createWorkspaceCommand(base, dir), { input: markerContent({ sandbox_id: SANDBOX }) }).status,
    ).toBe(0);
    mkdirSync(switchDirOf(base), { recursive: true });
    writeFileSync(join(switchDirOf(base), `${SANDBOX}.expires`), '1893456000\n');
    const cache = join(base, '.sandboxer-cache', '0123456789abcdef');
    mkdirSync(cache, { recursive: true });
    writeFileSync(join(cache, 'app.txt'), 'cached\n');
    return { fake, base, dir, cache };
  }

  test('nothing left: three sections, the directory gone, the switch disarmed, the next spare started', () => {
    const { fake, base, dir, cache } = hostWith('');
    const result = fake.run(cleanUpScript([docker], `sbx-${SANDBOX}`, base, dir, SANDBOX, cache));
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout.split(`${TEARDOWN_SECTION}\n`)).toEqual(['', 'removed\n', '']);
    expect(existsSync(dir)).toBe(false);
    expect(existsSync(join(switchDirOf(base), `${SANDBOX}.expires`))).toBe(false);
    spawnSync('sh', [
      '-c',
      `for i in $(seq 50); do [ -e ${quote(`${cache}.spare`)} ] && break; sleep 0.1; done`,
    ]);
    expect(readFileSync(join(`${cache}.spare`, 'app.txt'), 'utf8')).toBe('cached\n');
  });

  test('a container left: reported in the third section, and the switch stays armed', () => {
    const { fake, base, dir, cache } = hostWith(`${ID_B}\n`);
    const result = fake.run(cleanUpScript([docker], `sbx-${SANDBOX}`, base, dir, SANDBOX, cache));
    expect(result.status, result.stderr).toBe(0);
    const [, removal, check] = result.stdout.split(`${TEARDOWN_SECTION}\n`);
    expect(removal).toBe('removed\n');
    expect(check).toBe(`${LEFT}\n`);
    expect(existsSync(join(switchDirOf(base), `${SANDBOX}.expires`))).toBe(true);
  });

  test('a cache path from the handle outside the base starts nothing', () => {
    const { fake, base, dir } = hostWith('');
    const elsewhere = join(fake.root, 'elsewhere');
    mkdirSync(elsewhere);
    const script = cleanUpScript([docker], `sbx-${SANDBOX}`, base, dir, SANDBOX, elsewhere);
    expect(script).not.toContain('spare');
    expect(
      cleanUpScript([docker], `sbx-${SANDBOX}`, base, dir, SANDBOX, `${base}/.sandboxer-cache/../x`),
    ).not.toContain('spare');
  });
});
