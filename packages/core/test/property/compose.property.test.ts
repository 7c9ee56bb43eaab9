import { mkdirSync } from 'node:fs';
import { join, posix } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it, test } from 'vitest';
import { InputError } from '../../src/errors.js';
import {
  composeCommand,
  composeFilesInput,
  composeRuntime,
  envInput,
  inspectProjectCommand,
  listInput,
  logsTailCommand,
  PROJECT_LABEL,
  servicesInput,
  stopProjectCommandsCommand,
  sweepProjectCommand,
} from '../../src/extensions/builtin/compose-ssh/commands.js';
import { command } from '../../src/ssh/quote.js';
import {
  batchOf,
  expectTypedError,
  fcOptions,
  HOSTILE_PIECES,
  hostileFileName,
  hostileString,
  pwnedFiles,
  removeScratch,
  SHELL_RUNS,
  shellWithStandIns,
  thrown,
} from './support.js';

afterAll(removeScratch);
/**
 * The compose builders and the inputs they are fed from (env, services, compose_files, the compose
 * runtime), against arbitrary values: commands run in a real sh with stand-in `docker`, `podman`
 * and compose programs that record their argv, working directory and environment.
 */

const shell = shellWithStandIns(['compose-dump', 'docker', 'podman', 'pkill', 'sleep']);
const dirs = join(shell.root, 'dirs');
mkdirSync(dirs);

const ENV_KEY = /^[A-Za-z_][A-Za-z0-9_]*$/;
const SERVICE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

/**
 * Keys envInput accepts, less those that would change how the stand-in itself runs (PATH, IFS, the
 * loader's LD_*, its DUMP_ variables) and __proto__ (the known envInput bug below).
 */
const envKey = fc
  .oneof(
    fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_]{0,11}$/),
    fc.constantFrom('HOME', 'COMPOSE_FILE', 'COMPOSE_PROJECT_NAME', 'constructor', 'toString', '_'),
  )
  .filter((k) => !['PATH', 'IFS', 'PWD', 'OLDPWD', 'ENV', 'CDPATH', '__proto__'].includes(k))
  .filter((k) => !k.startsWith('DUMP_') && !k.startsWith('LD_'));

const sandboxId = fc.stringMatching(/^[a-z0-9]{12}$/);

describe('composeCommand through a real sh', () => {
  const runtime = fc.constantFrom('compose-dump', 'compose-dump compose');
  const project = fc.oneof(
    sandboxId.map((id) => `sbx-${id}`),
    hostileString(12),
  );
  const env = fc.uniqueArray(fc.tuple(envKey, hostileString(16)), {
    selector: ([key]) => key,
    maxLength: 4,
  });

  test('cd lands in the directory, and compose gets exactly its argv and environment', () => {
    fc.assert(
      fc.property(
        batchOf(
          fc.record({
            runtime,
            dirName: hostileFileName(),
            project,
            files: fc.array(hostileString(12), { maxLength: 3 }),
            env,
            args: fc.array(hostileString(12), { maxLength: 3 }),
          }),
        ),
        (cases) => {
          const built = cases.map((c) => {
            const dir = join(dirs, c.dirName);
            mkdirSync(dir, { recursive: true });
            const p = {
              runtime: composeRuntime(c.runtime),
              dir,
              project: c.project,
              files: c.files,
              env: Object.fromEntries(c.env),
            };
            // A subshell per case, so one case's `cd` does not carry into the next.
            return `(${composeCommand(p, ...c.args)})`;
          });
          const { status, stderr, calls } = shell.run(built.join('\n'), { env: { DUMP_ENV: '1' } });
          expect(status, stderr).toBe(0);
          expect(calls).toHaveLength(cases.length);
          cases.forEach((c, i) => {
            const call = calls[i];
            expect(call?.name).toBe('compose-dump');
            expect(call?.cwd).toBe(join(dirs, c.dirName));
            expect(call?.args).toEqual([
              ...c.runtime.split(' ').slice(1),
              '-p',
              c.project,
              ...c.files.flatMap((f) => ['-f', f]),
              ...c.args,
            ]);
            for (const [key, value] of c.env) expect(call?.env).toContain(`${key}=${value}`);
          });
          expect(pwnedFiles(shell.root)).toEqual([]);
        },
      ),
      // Each case starts env, the stand-in and its env dump: fewer runs keep this near a second.
      fcOptions(SHELL_RUNS / 2),
    );
  });
});

describe('the docker/podman builders through a real sh', () => {
  const engine = fc.constantFrom('docker', 'podman');
  const project = fc.oneof(
    sandboxId.map((id) => `sbx-${id}`),
    hostileString(12),
  );

  test('sweep and inspect filter by exactly the project label and remove nothing when nothing matches', () => {
    fc.assert(
      fc.property(batchOf(fc.tuple(engine, project)), (cases) => {
        const script = cases
          .map(([e, p]) => {
            const runtime = composeRuntime(e === 'podman' ? 'podman-compose' : 'docker compose');
            return `${sweepProjectCommand(runtime, p)}\n${inspectProjectCommand(runtime, p)}`;
          })
          .join('\n');
        const { status, stdout, stderr, calls } = shell.run(script);
        expect(status, stderr).toBe(0);
        // The stand-in lists nothing, so nothing may be removed or reported.
        expect(stdout).toBe('');
        const expected = cases.flatMap(([e, p]) => {
          const filter = ['--filter', `label=${PROJECT_LABEL}=${p}`];
          return [
            { name: e, args: ['ps', '-aq', ...filter] },
            { name: e, args: ['network', 'ls', '-q', ...filter] },
            { name: e, args: ['volume', 'ls', '-q', ...filter] },
            { name: e, args: ['images', '--format', '{{.Repository}}:{{.Tag}}'] },
            { name: e, args: ['ps', '-aq', ...filter] },
          ];
        });
        expect(calls.map(({ name, args }) => ({ name, args }))).toEqual(expected);
        expect(pwnedFiles(shell.root)).toEqual([]);
      }),
      fcOptions(SHELL_RUNS / 2),
    );
  });

  test('logsTailCommand takes only container ids, and passes them through exactly', () => {
    const containerId = fc.oneof(fc.stringMatching(/^[0-9a-f]{12,64}$/), hostileString(16));
    fc.assert(
      fc.property(batchOf(fc.tuple(containerId, fc.nat(10_000))), (cases) => {
        const ok = cases.filter(([id]) => /^[0-9a-f]{12,64}$/.test(id));
        for (const [id] of cases.filter((c) => !ok.includes(c))) {
          expectTypedError(
            thrown(() => logsTailCommand(composeRuntime('docker compose'), id, 1)),
            InputError,
            id,
          );
        }
        if (ok.length === 0) return;
        const script = ok.map(([id, n]) => logsTailCommand(composeRuntime('docker compose'), id, n));
        const { calls } = shell.run(script.join('\n'));
        expect(calls.map((c) => c.args)).toEqual(ok.map(([id, n]) => ['logs', '--tail', String(n), id]));
      }),
      fcOptions(SHELL_RUNS),
    );
  });

  test('stopProjectCommandsCommand hands pkill a pattern for exactly this project', () => {
    fc.assert(
      fc.property(batchOf(sandboxId), (ids) => {
        const { status, calls } = shell.run(
          ids.map((id) => stopProjectCommandsCommand(`sbx-${id}`)).join('\n'),
        );
        expect(status).toBe(0);
        const pkills = calls.filter((c) => c.name === 'pkill');
        expect(pkills.map((c) => c.args)).toEqual(
          ids.map((id) => ['-TERM', '-f', '--', `-p [s]bx-${id}( |$)`]),
        );
        for (const [i, id] of ids.entries()) {
          const pattern = new RegExp((pkills[i]?.args[3] ?? '').replace('( |$)', '(?: |$)'));
          expect(pattern.test(`docker compose -p sbx-${id} up -d`)).toBe(true);
          expect(pattern.test(`docker compose -p sbx-${id}`)).toBe(true);
          expect(pattern.test(`docker compose -p sbx-${id}x up`)).toBe(false);
          // The pattern never matches pkill's own command line.
          expect(pattern.test(`pkill -TERM -f -- -p [s]bx-${id}( |$)`)).toBe(false);
        }
      }),
      fcOptions(SHELL_RUNS / 2),
    );
  });
});

/** Text with the separators the list and env parsers split on, plus hostile fragments. */
const listText = fc
  .array(
    fc.oneof(
      { weight: 3, arbitrary: fc.constantFrom(',', '\n', '\r\n', ' ', '=', 'web', 'db-1', 'a.b_c', '') },
      { weight: 2, arbitrary: fc.constantFrom(...HOSTILE_PIECES) },
      { weight: 1, arbitrary: hostileString(6) },
    ),
    { maxLength: 12 },
  )
  .map((xs) => xs.join(''));

describe('envInput', () => {
  const value = hostileString(16).filter((v) => !v.includes('\n') && !v.endsWith('\r'));

  test('KEY=VALUE lines round-trip exactly, whatever the value holds', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.tuple(envKey, value, fc.constantFrom('', ' ', '\t')), {
          selector: ([key]) => key,
          maxLength: 6,
        }),
        fc.constantFrom('\n', '\r\n'),
        (entries, eol) => {
          const text = entries.map(([key, v, pad]) => `${pad}${key}${pad}=${v}`).join(eol);
          expect(envInput(text)).toEqual(Object.fromEntries(entries.map(([key, v]) => [key, v])));
        },
      ),
      fcOptions(),
    );
  });

  test('any text: an InputError quoting the bad line, or exactly the lines it holds', () => {
    fc.assert(
      fc.property(listText, (text) => {
        // __proto__ is the known bug below.
        fc.pre(!text.includes('__proto__'));
        let env: Record<string, string> | undefined;
        const error = thrown(() => {
          env = envInput(text);
        });
        const lines = text.split(/\r?\n/).filter((line) => line.trim());
        if (error !== undefined) {
          expectTypedError(error, InputError, 'input "env"');
          const bad = lines.find(
            (line) => !ENV_KEY.test(line.slice(0, Math.max(0, line.indexOf('='))).trim()),
          );
          expect(bad).toBeDefined();
          expect((error as Error).message).toContain(JSON.stringify(bad));
          return;
        }
        const expected: Record<string, string> = {};
        for (const line of lines) {
          const eq = line.indexOf('=');
          expect(eq).toBeGreaterThan(0);
          expected[line.slice(0, eq).trim()] = line.slice(eq + 1);
        }
        expect(env).toEqual(expected);
      }),
      fcOptions(),
    );
  });

  // Found by this suite: `env` is a plain object, so `env["__proto__"] = "x"` sets nothing; a valid
  // POSIX variable name is silently dropped.
  // null-prototype object or a Map) or refuses it with an InputError.
  it('keeps or refuses the key __proto__', () => {
    let env: Record<string, string> = {};
    const error = thrown(() => {
      env = envInput('__proto__=x\nA=1');
    });
    if (error === undefined)
      expect(Object.entries(env)).toEqual([
        ['__proto__', 'x'],
        ['A', '1'],
      ]);
    else expectTypedError(error, InputError, '__proto__');
  });
});

describe('servicesInput', () => {
  test('names round-trip through a comma- or newline-separated list', () => {
    fc.assert(
      fc.property(
        fc.array(fc.stringMatching(/^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,15}$/), { maxLength: 5 }),
        fc.constantFrom(',', ', ', '\n', ' ,\n'),
        (names, sep) => {
          expect(servicesInput(names.join(sep))).toEqual(names);
        },
      ),
      fcOptions(),
    );
  });

  test('any text: an InputError quoting the bad name, or only valid names', () => {
    fc.assert(
      fc.property(listText, (text) => {
        let services: string[] | undefined;
        const error = thrown(() => {
          services = servicesInput(text);
        });
        const items = listInput(text);
        if (error !== undefined) {
          const bad = items.find((s) => !SERVICE.test(s));
          expectTypedError(error, InputError, 'input "services"', JSON.stringify(bad));
        } else {
          expect(services).toEqual(items);
          for (const s of services ?? []) expect(s).toMatch(SERVICE);
        }
      }),
      fcOptions(),
    );
  });
});

describe('composeFilesInput', () => {
  const dir = '/srv/sandboxer/sbx-abc123def456';
  const fileText = fc.oneof(
    listText,
    fc
      .array(fc.constantFrom('..', '.', 'a', 'docker-compose.yml', '', '/', "it's", '$(x)', '~'), {
        maxLength: 6,
      })
      .map((xs) => xs.join('/')),
  );

  test('any text: an InputError naming the bad file, or files that stay inside the directory', () => {
    fc.assert(
      fc.property(fileText, (text) => {
        let files: string[] | undefined;
        const error = thrown(() => {
          files = composeFilesInput(text, dir);
        });
        const items = listInput(text);
        if (error !== undefined) {
          if (items.length === 0) expectTypedError(error, InputError, 'input "compose_files"');
          else expect(items.some((f) => (error as Error).message.includes(JSON.stringify(f)))).toBe(true);
          expect(error).toBeInstanceOf(InputError);
          return;
        }
        expect(files).toEqual(items);
        for (const file of files ?? []) {
          const path = posix.join(dir, file);
          // The known bug below: a file that normalises to the directory itself, with a slash.
          fc.pre(path !== `${dir}/`);
          const rel = posix.relative(dir, path);
          expect(rel).not.toBe('');
          expect(rel.split('/')).not.toContain('..');
          expect(file.startsWith('/')).toBe(false);
        }
      }),
      fcOptions(),
    );
  });

  // Found by this suite: a compose file outside the sandbox directory is refused by remotePathInside,
  // whose message ("path \"../x\" resolves outside /srv/…") does not say which input was wrong, unlike
  // every other compose_files error.
  it.each([['../x.yml'], ['a/../../x.yml'], ['a\tb.yml']])(
    'the error for %j names input "compose_files"',
    (file) => {
      expectTypedError(
        thrown(() => composeFilesInput(file, dir)),
        InputError,
        'input "compose_files"',
      );
    },
  );

  it('refuses "x/../", the sandbox directory itself', () => {
    expect(() => composeFilesInput('x/../', dir)).toThrow(InputError);
  });
});

describe('composeRuntime', () => {
  test('any text: an InputError quoting it, or plain words that need no quoting', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          hostileString(16),
          fc.constantFrom('docker compose', 'docker-compose', 'podman-compose', '/usr/bin/podman compose'),
          fc
            .array(fc.constantFrom('docker', 'compose', '-f', ' ', '\t', 'a/b', '$x', ';', 'podman'), {
              maxLength: 4,
            })
            .map((xs) => xs.join(' ')),
        ),
        (text) => {
          let runtime: ReturnType<typeof composeRuntime> | undefined;
          const error = thrown(() => {
            runtime = composeRuntime(text);
          });
          if (error !== undefined) {
            expectTypedError(error, InputError, JSON.stringify(text));
            return;
          }
          const words = runtime?.words ?? [];
          expect(words.length).toBeGreaterThan(0);
          expect(words[0]?.startsWith('-')).toBe(false);
          // Safe words: quoting leaves them as they are, so the command is what the user wrote.
          expect(command(...words)).toBe(words.join(' '));
          expect(words.join(' ')).toBe(text.trim().split(/\s+/).join(' '));
          expect(runtime?.engine).toBe(
            posix.basename(words[0] ?? '').startsWith('podman') ? 'podman' : 'docker',
          );
        },
      ),
      fcOptions(),
    );
  });
});
