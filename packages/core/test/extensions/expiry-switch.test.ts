import { spawn, spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { InputError } from '../../src/errors.js';
import {
  armSwitchCommand,
  disarmSwitchCommand,
  renewLeaseCommand,
  rescheduleSwitchCommand,
  sleeperScript,
  switchDirOf,
} from '../../src/extensions/builtin/remote-workspace/expiry-switch.js';
import { command, quote } from '../../src/ssh/quote.js';
import { tempDir } from '../support/fixtures.js';
import { cmdline, hasProc, liveGroup, procStat, sh, until, waitFor } from './switch-support.js';

/**
 * The host-side dead-man's switch: its builders by table, then the real thing in a local /bin/sh
 * (the SSH session only carries these strings to such a shell). The timed runs wait a few seconds
 * each, so they run concurrently.
 */

const ID = 'abc123def456';
const LATER = new Date('2030-01-01T00:00:00Z');
const LOG_LINE =
  /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ ([a-z0-9]{12}) expired: torn down by the host-side switch$/;

/** Every sleeper a test started, stopped by its own id after the file (if a test failed half-way). */
const sleepers = new Set<number>();
const scratch: string[] = [];
afterAll(() => {
  for (const pid of sleepers) {
    if (liveGroup(pid).length > 0) {
      try {
        process.kill(-pid, 'SIGTERM');
      } catch {
        // Already gone.
      }
    }
  }
  for (const dir of scratch) rmSync(dir, { recursive: true, force: true });
});

function base(name = 'base'): string {
  const root = tempDir('sbx-switch-');
  scratch.push(root);
  const dir = join(root, name);
  mkdirSync(dir);
  return dir;
}

/** The switch files of one sandbox under `base`. */
function switchFiles(b: string, id: string) {
  const dir = switchDirOf(b);
  return {
    dir,
    expires: join(dir, `${id}.expires`),
    pid: join(dir, `${id}.pid`),
    lease: join(dir, `${id}.lease`),
    log: join(dir, 'reaped.log'),
  };
}

/** The sleeper's pid once it has written it (it does so first thing after starting). */
async function sleeperPid(pidFile: string): Promise<number> {
  const written = await waitFor(
    () => existsSync(pidFile) && /^\d+\n$/.test(readFileSync(pidFile, 'utf8')),
    3000,
  );
  if (!written) throw new Error(`the sleeper never wrote ${pidFile}`);
  const pid = Number(readFileSync(pidFile, 'utf8'));
  sleepers.add(pid);
  return pid;
}

/** Gone, or a zombie nobody reaps (a detached sleeper's parent is whatever adopts orphans here). */
const gone = (pid: number) => (procStat(pid)?.state ?? 'Z') === 'Z';

/**
 * The shells disarm is run in: this machine's sh, and dash and bash where installed (the kill
 * builtins differ: dash's `kill -TERM -- -<pgid>` reads `--` as a pid, `kill -s TERM -- -<pgid>`
 * works in both).
 */
const DISARM_SHELLS = ['sh', 'dash', 'bash'].filter(
  (shell) => spawnSync(shell, ['-c', 'true'], { stdio: 'ignore' }).status === 0,
);

const logLines = (log: string) =>
  existsSync(log) ? readFileSync(log, 'utf8').split('\n').filter(Boolean) : [];

/** Files named `pwned` under `root`: what a hostile base leaves if any part of it ran as a command. */
function pwned(root: string): string[] {
  const found: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (entry.isDirectory()) walk(join(dir, entry.name));
      else if (entry.name === 'pwned') found.push(join(dir, entry.name));
    }
  };
  walk(root);
  return found;
}

const HOSTILE_BASES: Array<[string, string]> = [
  ['single quotes', "it's 'quoted'"],
  ['$() and backticks', '$(touch pwned) `touch pwned`'],
  ['spaces', 'a  b c'],
  ['double quotes and ;', '"; touch pwned; "'],
  ['glob and tilde', '* ~ ?'],
  ['option-like', '-rf'],
];

describe('builders (pure)', () => {
  test.each([
    ['/srv/sandboxer', '/srv/sandboxer/.sandboxer-switch'],
    ['/srv/sandboxer/', '/srv/sandboxer/.sandboxer-switch'],
    ["/home/u/it's here", "/home/u/it's here/.sandboxer-switch"],
    ['/tmp/$(touch pwned)', '/tmp/$(touch pwned)/.sandboxer-switch'],
    ['/tmp/a b', '/tmp/a b/.sandboxer-switch'],
  ])('switchDirOf(%j) = %j', (b, expected) => {
    expect(switchDirOf(b)).toBe(expected);
  });

  const builders: Array<[string, (b: string, id: string) => string]> = [
    ['sleeperScript', (b, id) => sleeperScript(b, id, 'true')],
    ['armSwitchCommand', (b, id) => armSwitchCommand(b, id, LATER, 'true')],
    ['rescheduleSwitchCommand', (b, id) => rescheduleSwitchCommand(b, id, LATER)],
    ['disarmSwitchCommand', (b, id) => disarmSwitchCommand(b, id)],
  ];

  describe.each(builders)('%s', (_name, build) => {
    test.each([
      ['relative', 'srv/sandboxer'],
      ['empty', ''],
      ['the root', '/'],
      ['with ..', '/srv/../etc'],
      ['with .', '/srv/./sbx'],
      ['with //', '/srv//sbx'],
      ['with a newline', '/srv/a\nb'],
      ['with a tab', '/srv/a\tb'],
      ['with ~', '~/sandboxer'],
    ])('refuses a base directory %s', (_what, bad) => {
      expect(() => build(bad, ID)).toThrow(InputError);
    });

    test.each([
      ['empty', ''],
      ['upper case', 'ABC123DEF456'],
      ['too short', 'abc123'],
      ['too long', 'abc123def4567'],
      ['sbx- prefixed', `sbx-${ID}`],
      ['a path', '../../etc/pw'],
      ['a glob', '*'],
      ['a command', `${ID}; rm -rf ~`],
      ['a $()', '$(touch pwn)'],
      ['a trailing newline', `${ID}\n`],
    ])('refuses a sandbox id that is %s', (_what, bad) => {
      expect(() => build('/srv/sandboxer', bad)).toThrow(
        new InputError(`refusing unexpected sandbox id ${JSON.stringify(bad)}`),
      );
    });

    test.each(HOSTILE_BASES)('quotes a base with %s wherever it appears', (_what, name) => {
      const b = `/srv/${name}`;
      // The paths it names are single quoted words, whatever the base holds.
      expect(build(b, ID)).toContain(quote(`${switchDirOf(b)}/${ID}.expires`));
    });
  });

  test.each([
    [Date.UTC(2030, 0, 1), '1893456000'],
    [Date.UTC(2030, 0, 1) + 1, '1893456001'],
    [Date.UTC(2030, 0, 1) + 999, '1893456001'],
  ])('the expiry %d ms is written as the Unix second at or after it (%s)', (ms, epoch) => {
    const at = new Date(ms);
    expect(armSwitchCommand('/srv/s', ID, at, 'true')).toContain(`printf '%s\\n' ${epoch} > `);
    expect(rescheduleSwitchCommand('/srv/s', ID, at)).toContain(`printf '%s\\n' ${epoch} > `);
  });

  test('the sleeper looks at its expiry at least every pollSeconds (60 by default)', () => {
    expect(sleeperScript('/srv/s', ID, 'true')).toContain('poll=60');
    expect(sleeperScript('/srv/s', ID, 'true', 7)).toContain('poll=7');
    expect(sleeperScript('/srv/s', ID, 'true')).toContain('[ "$left" -gt "$poll" ] && left=$poll');
    // With a lease, every LEASE_POLL_SECONDS (5): a lapsed lease ends the sandbox within 5 s.
    expect(sleeperScript('/srv/s', ID, 'true')).toContain('    poll=5;;');
  });

  test('the reap command runs only after the loop, its output discarded', () => {
    const script = sleeperScript('/srv/s', ID, 'stop-it');
    expect(script.split('\n')).toContain('{ stop-it; } >/dev/null 2>&1');
    expect(script.indexOf('stop-it')).toBeGreaterThan(script.indexOf('done'));
  });
});

describe.skipIf(!hasProc)('run for real in /bin/sh', () => {
  test('an expiry already past: the sleeper reaps at once, removes its files and logs one line', () => {
    const b = base();
    const f = switchFiles(b, ID);
    mkdirSync(f.dir);
    writeFileSync(f.expires, `${Math.floor(Date.now() / 1000) - 5}\n`);
    const reaped = join(b, 'reaped');
    const result = sh(sleeperScript(b, ID, command('touch', reaped)));
    expect(result).toMatchObject({ status: 0, stdout: '', stderr: '' });
    expect(existsSync(reaped)).toBe(true);
    expect(existsSync(f.expires)).toBe(false);
    expect(existsSync(f.pid)).toBe(false);
    expect(logLines(f.log)).toHaveLength(1);
    expect(logLines(f.log)[0]).toMatch(LOG_LINE);
  });

  test.each([
    ['no expiry file', undefined],
    ['an empty expiry', '\n'],
    ['a non-numeric expiry', 'soon\n'],
    ['a negative expiry', '-5\n'],
  ])('%s: the sleeper ends at once without reaping', (_what, content) => {
    const b = base();
    const f = switchFiles(b, ID);
    mkdirSync(f.dir);
    if (content !== undefined) writeFileSync(f.expires, content);
    const reaped = join(b, 'reaped');
    expect(sh(sleeperScript(b, ID, command('touch', reaped))).status).toBe(0);
    expect(existsSync(reaped)).toBe(false);
    expect(existsSync(f.log)).toBe(false);
  });

  test('a failing reap still clears the switch and logs (the log is what a human reads)', () => {
    const b = base();
    const f = switchFiles(b, ID);
    mkdirSync(f.dir);
    writeFileSync(f.expires, '1\n');
    expect(sh(sleeperScript(b, ID, 'echo noisy; no-such-command-here; false'))).toMatchObject({
      status: 0,
      stdout: '',
      stderr: '',
    });
    expect(existsSync(f.expires)).toBe(false);
    expect(logLines(f.log)).toHaveLength(1);
  });

  test('reschedule of a switch that was never armed prints gone and creates nothing', () => {
    const b = base();
    expect(sh(rescheduleSwitchCommand(b, ID, LATER))).toMatchObject({ status: 0, stdout: 'gone\n' });
    expect(existsSync(switchDirOf(b))).toBe(false);
  });

  test('disarm with nothing armed, or a pid file naming another process, succeeds and kills nothing', () => {
    const b = base();
    expect(sh(disarmSwitchCommand(b, ID))).toMatchObject({ status: 0, stdout: '', stderr: '' });
    const f = switchFiles(b, ID);
    mkdirSync(f.dir);
    // A recycled pid: this test's own process, whose cmdline does not name the sandbox.
    writeFileSync(f.pid, `${process.pid}\n`);
    writeFileSync(f.expires, '1893456000\n');
    expect(sh(disarmSwitchCommand(b, ID)).status).toBe(0);
    expect(existsSync(f.pid)).toBe(false);
    expect(existsSync(f.expires)).toBe(false);
    for (const junk of ['', 'abc\n', '1;touch pwned\n', '-1\n']) {
      writeFileSync(f.pid, junk);
      expect(sh(disarmSwitchCommand(b, ID), b).status).toBe(0);
    }
    expect(pwned(b)).toEqual([]);
  });

  test.each(HOSTILE_BASES)(
    'a base with %s: arm, reschedule, disarm and reap all act on exactly that directory',
    async (_what, name) => {
      const b = base(name);
      const root = join(b, '..');
      const f = switchFiles(b, ID);
      const reaped = join(b, 'reaped');
      // Run from the scratch root: a relative `touch pwned` that escaped its quotes would land here.
      expect(sh(armSwitchCommand(b, ID, LATER, command('touch', reaped)), root).stdout).toBe('armed\n');
      expect(readFileSync(f.expires, 'utf8')).toBe('1893456000\n');
      const pid = await sleeperPid(f.pid);
      expect(sh(rescheduleSwitchCommand(b, ID, new Date('2031-01-01T00:00:00Z')), root).stdout).toBe(
        'moved\n',
      );
      expect(readFileSync(f.expires, 'utf8')).toBe('1924992000\n');
      expect(sh(disarmSwitchCommand(b, ID), root).status).toBe(0);
      expect(await waitFor(() => gone(pid), 1000)).toBe(true);
      expect(existsSync(f.expires)).toBe(false);

      // And a sleeper that fires there: the reap and the log land under the literal base.
      mkdirSync(f.dir, { recursive: true });
      writeFileSync(f.expires, '1\n');
      expect(sh(sleeperScript(b, ID, command('touch', reaped)), root).status).toBe(0);
      expect(existsSync(reaped)).toBe(true);
      expect(logLines(f.log)).toHaveLength(1);
      expect(readdirSync(root)).toEqual([name]);
      expect(pwned(root)).toEqual([]);
    },
  );

  test('a lease not renewed for its length: reaped at once, however far the expiry, saying why', () => {
    const b = base();
    const f = switchFiles(b, ID);
    mkdirSync(f.dir);
    writeFileSync(f.expires, `${Math.floor(Date.now() / 1000) + 3600}\n`);
    writeFileSync(f.lease, '60\n');
    const lastRenewal = new Date(Date.now() - 61_000);
    utimesSync(f.lease, lastRenewal, lastRenewal);
    const reaped = join(b, 'reaped');
    expect(sh(sleeperScript(b, ID, command('touch', reaped))).status).toBe(0);
    expect(existsSync(reaped)).toBe(true);
    expect(existsSync(f.lease)).toBe(false);
    expect(logLines(f.log)[0]).toMatch(
      / abc123def456 lease lapsed \(not renewed for 60s\): torn down by the host-side switch$/,
    );
    // Renewing a lease that is gone says so (the keeper then stops).
    expect(sh(renewLeaseCommand(b, ID)).stdout).toBe('gone\n');
  });

  // The timed runs: a few seconds each, side by side (vitest runs up to 5 at once).
  test.concurrent('a lease of 2 s renewed every 0.5 s keeps the sandbox; once renewals stop it goes within the lease and a poll', async ({
    expect,
  }) => {
    const b = base();
    const f = switchFiles(b, ID);
    const reaped = join(b, 'reaped');
    const armed = sh(armSwitchCommand(b, ID, new Date(Date.now() + 3_600_000), command('touch', reaped), 2));
    expect(armed.stdout).toBe('armed\n');
    expect(readFileSync(f.lease, 'utf8')).toBe('2\n');
    await sleeperPid(f.pid);
    for (let i = 0; i < 8; i++) {
      expect(sh(renewLeaseCommand(b, ID)).stdout).toBe('renewed\n');
      await new Promise((r) => setTimeout(r, 500));
    }
    expect(existsSync(reaped)).toBe(false);
    const stopped = Date.now();
    expect(await waitFor(() => existsSync(reaped), 10_000)).toBe(true);
    // Lease (2 s) plus at most one lease poll (5 s).
    expect(Date.now() - stopped).toBeLessThan(7_500);
    // The log line is the sleeper's last act, after the reap.
    expect(await waitFor(() => logLines(f.log).length === 1, 2_000)).toBe(true);
    expect(logLines(f.log)[0]).toContain('lease lapsed');
  });

  // The timed runs: a few seconds each, side by side (vitest runs up to 5 at once).
  test.concurrent('a sleeper polling every second ends within a poll of its expiry file being deleted', async ({
    expect,
  }) => {
    const b = base();
    const f = switchFiles(b, ID);
    mkdirSync(f.dir);
    writeFileSync(f.expires, `${Math.floor(Date.now() / 1000) + 3600}\n`);
    const reaped = join(b, 'reaped');
    const child = spawn('sh', ['-c', sleeperScript(b, ID, command('touch', reaped), 1)], {
      detached: true,
      stdio: 'ignore',
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    if (child.pid) sleepers.add(child.pid);
    await sleeperPid(f.pid);
    rmSync(f.expires);
    const started = Date.now();
    expect(await exited).toBe(0);
    expect(Date.now() - started).toBeLessThan(2500);
    expect(existsSync(reaped)).toBe(false);
  });

  test.concurrent('armed 2 s ahead: the sleeper outlives the shell that armed it, then fires at the expiry', async ({
    expect,
  }) => {
    const b = base();
    const f = switchFiles(b, ID);
    const reaped = join(b, 'reaped');
    const expiresAt = new Date(Date.now() + 2000);
    const epoch = Math.ceil(expiresAt.getTime() / 1000);
    const armed = sh(armSwitchCommand(b, ID, expiresAt, command('touch', reaped)));
    expect(armed).toMatchObject({ status: 0, stdout: 'armed\n', stderr: '' });
    expect(readFileSync(f.expires, 'utf8')).toBe(`${epoch}\n`);
    expect(existsSync(`${f.expires}.tmp`)).toBe(false);
    expect(statSync(f.dir).mode & 0o777).toBe(0o700);

    // The arming shell has exited (sh returned); its sleeper lives on, in a session of its own
    // (so a hang-up of the SSH session's group does not reach it), and names its sandbox.
    const pid = await sleeperPid(f.pid);
    const stat = procStat(pid);
    expect(stat).toMatchObject({ pgrp: pid, session: pid });
    expect(stat?.session).not.toBe(procStat(process.pid)?.session);
    expect(cmdline(pid).join(' ')).toContain(ID);
    expect(existsSync(reaped)).toBe(false);

    expect(await waitFor(() => logLines(f.log).length > 0, epoch * 1000 + 4000 - Date.now())).toBe(true);
    expect(existsSync(reaped)).toBe(true);
    // Not before its time (the file clock is coarse: allow a few ms).
    expect(statSync(reaped).mtimeMs).toBeGreaterThanOrEqual(epoch * 1000 - 50);
    expect(existsSync(f.expires)).toBe(false);
    expect(existsSync(f.pid)).toBe(false);
    expect(logLines(f.log)).toHaveLength(1);
    expect(logLines(f.log)[0]).toMatch(LOG_LINE);
    expect(logLines(f.log)[0]?.replace(LOG_LINE, '$1')).toBe(ID);
    expect(await waitFor(() => liveGroup(pid).length === 0, 2000)).toBe(true);
    // Fired means gone: extend finds nothing to move.
    expect(sh(rescheduleSwitchCommand(b, ID, LATER)).stdout).toBe('gone\n');
    expect(existsSync(f.expires)).toBe(false);
  });

  test.concurrent('armed then disarmed: the sleeper is stopped at once and the reap never runs', async ({
    expect,
  }) => {
    const b = base();
    const f = switchFiles(b, ID);
    const reaped = join(b, 'reaped');
    const expiresAt = new Date(Date.now() + 2000);
    const epoch = Math.ceil(expiresAt.getTime() / 1000);
    expect(sh(armSwitchCommand(b, ID, expiresAt, command('touch', reaped))).stdout).toBe('armed\n');
    const pid = await sleeperPid(f.pid);
    expect(sh(disarmSwitchCommand(b, ID))).toMatchObject({ status: 0, stdout: '', stderr: '' });
    expect(await waitFor(() => gone(pid), 1000)).toBe(true);
    expect(existsSync(f.expires)).toBe(false);
    expect(existsSync(f.pid)).toBe(false);

    await until(epoch * 1000 + 1200);
    expect(existsSync(reaped)).toBe(false);
    expect(existsSync(f.log)).toBe(false);
    expect(sh(rescheduleSwitchCommand(b, ID, LATER)).stdout).toBe('gone\n');
  });

  // `kill -TERM -- "-$pid"` is not POSIX: dash (the /bin/sh of Debian and Ubuntu) reads `--` as
  // the pid ("Illegal number: -"), and the fallback `kill "$pid"` stopped the sleeper shell alone,
  // leaving its `sleep` (up to SWITCH_POLL_SECONDS) in the orphaned group. Disarm uses
  // `kill -s TERM -- "-$pid"`, which dash and bash both take.
  test.concurrent.for(DISARM_SHELLS)(
    "disarm run in %s stops the sleeper's whole process group, the sleep it waits in too",
    async (shell, { expect }) => {
      const b = base();
      const f = switchFiles(b, ID);
      expect(sh(armSwitchCommand(b, ID, new Date(Date.now() + 3000), 'true')).stdout).toBe('armed\n');
      const pid = await sleeperPid(f.pid);
      // The sleeper and the `sleep` it waits in.
      expect(await waitFor(() => liveGroup(pid).length >= 2, 2000)).toBe(true);
      const disarm = spawnSync(shell, ['-c', disarmSwitchCommand(b, ID)], {
        encoding: 'utf8',
        timeout: 10_000,
      });
      expect(disarm).toMatchObject({ status: 0, stdout: '', stderr: '' });
      expect(await waitFor(() => liveGroup(pid).length === 0, 1000)).toBe(true);
      expect(existsSync(f.expires)).toBe(false);
      expect(existsSync(f.pid)).toBe(false);
    },
  );

  test.concurrent('armed then rescheduled 2.5 s later while asleep: it does not fire at the first expiry but at the second', async ({
    expect,
  }) => {
    const b = base();
    const f = switchFiles(b, ID);
    const reaped = join(b, 'reaped');
    const now = Date.now();
    const first = new Date(now + 1500);
    const second = new Date(now + 4000);
    const firstEpoch = Math.ceil(first.getTime() / 1000);
    const secondEpoch = Math.ceil(second.getTime() / 1000);
    expect(sh(armSwitchCommand(b, ID, first, command('touch', reaped))).stdout).toBe('armed\n');
    const pid = await sleeperPid(f.pid);
    // Wait until it sleeps towards the first expiry, so the new one is seen only when it wakes.
    expect(await waitFor(() => liveGroup(pid).length >= 2, 2000)).toBe(true);

    expect(sh(rescheduleSwitchCommand(b, ID, second))).toMatchObject({ status: 0, stdout: 'moved\n' });
    expect(readFileSync(f.expires, 'utf8')).toBe(`${secondEpoch}\n`);
    expect(existsSync(`${f.expires}.tmp`)).toBe(false);

    await until(firstEpoch * 1000 + 1000);
    expect(existsSync(reaped)).toBe(false);
    expect(existsSync(f.log)).toBe(false);
    expect(liveGroup(pid)).toContain(pid);

    expect(await waitFor(() => logLines(f.log).length > 0, secondEpoch * 1000 + 4000 - Date.now())).toBe(
      true,
    );
    expect(statSync(reaped).mtimeMs).toBeGreaterThanOrEqual(secondEpoch * 1000 - 50);
    expect(logLines(f.log)).toHaveLength(1);
    expect(sh(rescheduleSwitchCommand(b, ID, LATER)).stdout).toBe('gone\n');
  });
});
