import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pwnedFiles, tempDir } from '../support/fixtures.js';

/**
 * Fake executables (`docker`, `docker-compose`, `podman`, `ssh`, …) that record their argv, working
 * directory and environment, so a built command string can be run by a real `sh -c` and checked
 * argument by argument. The recorder is a small Node script: argv with newlines or NULs survives,
 * and it runs the same on Linux and macOS.
 */

export interface FakeCall {
  /** The name the fake was called by (`docker`, `podman-compose`, …). */
  name: string;
  args: string[];
  cwd: string;
  env: Record<string, string>;
}

export interface FakeConfig {
  /** Printed on stdout when the call's arguments start with `args`, e.g. `['ps']` → container ids. */
  outputs?: Array<{ args: string[]; stdout: string }>;
  /** Exit 1 when any argument equals one of these (a failing `rm` of one id). */
  failOn?: string[];
  /** Exit code otherwise (ssh fakes exit 255 so rsync stops at once). */
  exitCode?: number;
}

export interface FakeBin {
  /** A fresh directory: holds `bin/`, the log, and whatever the test creates under it. */
  root: string;
  /** Where a successful injection would leave a file. */
  marker: string;
  /** Runs `sh -c script` with the fakes first in PATH. */
  run(
    script: string,
    options?: { cwd?: string; input?: string },
  ): { stdout: string; stderr: string; status: number };
  /** Environment with the fakes first in PATH, for running other programs (rsync) directly. */
  env(): Record<string, string>;
  calls(): FakeCall[];
  /**
   * Every file under `root` named `pwned`: empty unless some value ran as a command. Directories do
   * not count: a test may itself create a directory whose hostile name ends in `pwned`.
   */
  pwned(): string[];
}

const RECORDER = `
import { appendFileSync, readFileSync } from 'node:fs';
const [name, ...args] = process.argv.slice(2);
appendFileSync(process.env.SBX_FAKE_LOG, JSON.stringify({ name, args, cwd: process.cwd(), env: process.env }) + '\\n');
const config = JSON.parse(readFileSync(process.env.SBX_FAKE_CONFIG, 'utf8'));
for (const output of config.outputs ?? []) {
  if (output.args.every((arg, i) => args[i] === arg)) process.stdout.write(output.stdout);
}
if ((config.failOn ?? []).some((bad) => args.includes(bad))) process.exit(1);
process.exit(config.exitCode ?? 0);
`;

export function fakeBin(names: string[], config: FakeConfig = {}): FakeBin {
  const root = tempDir('sbx-fake-');
  const bin = join(root, 'bin');
  mkdirSync(bin);
  const recorder = join(bin, 'recorder.mjs');
  const log = join(root, 'calls.jsonl');
  const configFile = join(root, 'config.json');
  writeFileSync(recorder, RECORDER);
  writeFileSync(configFile, JSON.stringify(config));
  for (const name of names) {
    const path = join(bin, name);
    writeFileSync(path, `#!/bin/sh\nexec "$SBX_FAKE_NODE" "$SBX_FAKE_RECORDER" ${name} "$@"\n`);
    chmodSync(path, 0o755);
  }
  const env = () => ({
    PATH: `${bin}:${process.env.PATH ?? '/usr/bin:/bin'}`,
    HOME: root,
    LC_ALL: 'C',
    SBX_FAKE_NODE: process.execPath,
    SBX_FAKE_RECORDER: recorder,
    SBX_FAKE_LOG: log,
    SBX_FAKE_CONFIG: configFile,
  });
  return {
    root,
    marker: join(root, 'pwned'),
    env,
    run(script, options = {}) {
      const result = spawnSync('sh', ['-c', script], {
        cwd: options.cwd ?? root,
        env: env(),
        input: options.input ?? '',
        encoding: 'utf8',
      });
      // A script that fails before reading its input (mkdir refusing an existing directory) closes
      // the pipe first: EPIPE on the input is its exit, not the harness's error.
      if (result.error && (result.error as NodeJS.ErrnoException).code !== 'EPIPE') throw result.error;
      return { stdout: result.stdout, stderr: result.stderr, status: result.status ?? -1 };
    },
    calls() {
      if (!existsSync(log)) return [];
      return readFileSync(log, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as FakeCall);
    },
    pwned: () => pwnedFiles(root),
  };
}

/**
 * Values that would leave a file named `pwned` (absolute `marker`, or relative to the shell's
 * working directory) if any shell expanded them, plus values word splitting, globbing or option
 * parsing would change. None contains a comma or a newline, so list inputs keep each one whole.
 */
export function hostileValues(marker: string): Array<[string, string]> {
  return [
    ['$(touch …)', `$(touch ${marker})`],
    ['backticks', `\`touch ${marker}\``],
    ['semicolon', `; touch ${marker}`],
    ['pipe', `| touch ${marker}`],
    ['&&', `&& touch ${marker}`],
    ['||', `false || touch ${marker}`],
    ['background', `& touch ${marker} &`],
    ['redirect', `> ${marker}`],
    ['single quotes', `'; touch ${marker}; '`],
    ['relative single quotes', "'; touch pwned; '"],
    ['double quotes', `"; touch ${marker}; "`],
    ['$() inside double quotes', `"$(touch ${marker})"`],
    ["'\\'' sequence", `'\\''$(touch ${marker})`],
    ['backslashes', `\\'; touch ${marker} #`],
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a literal ${PATH} is the hostile value.
    ['variables', '$HOME ${PATH} $0 $$'],
    ['spaces', '  a  b  '],
    ['glob', '*'],
    ['tilde', '~'],
    ['option-like', '-rf'],
    ['double dash', '--'],
    ['comment', '# not a comment'],
  ];
}
