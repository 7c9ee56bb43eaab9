import { spawn } from 'node:child_process';
import { chmodSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterEach, describe, expect, test } from 'vitest';
import { RemoteCommandError } from '../../src/errors.js';
import { pollLoopScript, StackPoller } from '../../src/extensions/builtin/compose-ssh/stack-poller.js';
import { parseContainers } from '../../src/extensions/builtin/compose-ssh/status.js';
import type { RemoteStream, SshSession } from '../../src/ssh/session.js';
import { tempDir } from '../support/fixtures.js';

/**
 * The readiness loop, run by a real /bin/sh as sshd would run it, with a stand-in engine first in
 * PATH that logs its calls and answers `ps` and `inspect` from files the test changes between polls.
 */

const ID = 'a'.repeat(64);

const ENGINE = `#!/bin/sh
printf '%s\\n' "$*" >> "$DIR/calls"
case "$1" in
  ps) [ -e "$DIR/down" ] && { echo 'Cannot connect to the Docker daemon' >&2; exit 1; }
      [ -e "$DIR/warn" ] && echo 'WARNING: a deprecated setting' >&2; echo ${ID} ;;
  inspect) cat "$DIR/state" ;;
esac
`;

const state = (health: string) =>
  `${JSON.stringify({
    id: ID,
    labels: { 'com.docker.compose.service': 'web' },
    state: { Status: 'running', Health: { Status: health } },
    ports: {},
    mounts: [],
    healthcheck: null,
  })}\n`;

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/**
 * A session whose one stream runs in a local sh with the stand-in engines; counts the streams.
 * `mutedStderr`: the channel's stderr never delivers (as when it arrives after the poll's end).
 */
function localHost({ mutedStderr = false } = {}): {
  session: SshSession;
  dir: string;
  streams: () => number;
} {
  const dir = tempDir('sbx-poller-');
  dirs.push(dir);
  for (const engine of ['docker', 'podman']) {
    writeFileSync(join(dir, engine), ENGINE);
    chmodSync(join(dir, engine), 0o755);
  }
  writeFileSync(join(dir, 'calls'), '');
  let streams = 0;
  const stream = async (cmd: string): Promise<RemoteStream> => {
    streams += 1;
    const child = spawn('/bin/sh', ['-c', cmd], { env: { PATH: `${dir}:/usr/bin:/bin`, DIR: dir } });
    const done = new Promise<number | null>((resolve) => child.on('close', resolve));
    const errors = mutedStderr ? new PassThrough() : child.stderr;
    if (mutedStderr) child.stderr.resume();
    return { input: child.stdin, output: child.stdout, errors, done, stop: () => child.kill() };
  };
  return {
    session: { destination: 'sbx@host:22', stream } as unknown as SshSession,
    dir,
    streams: () => streams,
  };
}

describe('StackPoller: every readiness poll of a wait on one command', () => {
  test('each poll answers with the host clock and the containers, as they are at that poll', async () => {
    const host = localHost();
    writeFileSync(join(host.dir, 'state'), state('starting'));
    const poller = await StackPoller.open(host.session, { engine: 'docker' }, 'sbx-aaaaaaaaaaaa');
    try {
      const first = await poller.poll();
      expect(first).toMatch(/^now \d{13}$/m);
      expect(parseContainers(first).map((c) => c.status)).toEqual(['running, starting']);
      writeFileSync(join(host.dir, 'state'), state('healthy'));
      const second = await poller.poll();
      expect(parseContainers(second).map((c) => c.status)).toEqual(['running, healthy']);
    } finally {
      poller.close();
    }
    expect(host.streams()).toBe(1);
    const calls = readFileSync(join(host.dir, 'calls'), 'utf8').trim().split('\n');
    expect(calls.filter((c) => c.startsWith('ps '))).toHaveLength(2);
  });

  test('an engine that does not answer fails that poll with its stderr, as a command of its own did', async () => {
    const host = localHost();
    writeFileSync(join(host.dir, 'state'), state('starting'));
    writeFileSync(join(host.dir, 'down'), '');
    const poller = await StackPoller.open(host.session, { engine: 'docker' }, 'sbx-aaaaaaaaaaaa');
    try {
      const error = await poller.poll().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(RemoteCommandError);
      expect(String(error)).toMatch(/inspecting the stack on sbx@host:22 failed \(exit 3\):\nCannot connect/);
    } finally {
      poller.close();
    }
  });

  test("a poll's stderr comes with its answer, not on the channel's stderr, which may arrive after the poll ends", async () => {
    const host = localHost({ mutedStderr: true });
    writeFileSync(join(host.dir, 'state'), state('starting'));
    writeFileSync(join(host.dir, 'down'), '');
    const poller = await StackPoller.open(host.session, { engine: 'docker' }, 'sbx-aaaaaaaaaaaa');
    try {
      for (let i = 0; i < 3; i++) {
        await expect(poller.poll()).rejects.toThrow(
          /failed \(exit 3\):\nCannot connect to the Docker daemon$/,
        );
      }
      rmSync(join(host.dir, 'down'));
      expect(parseContainers(await poller.poll()).map((c) => c.status)).toEqual(['running, starting']);
    } finally {
      poller.close();
    }
  });

  test("an engine's warning on stderr does not reach a poll that succeeds", async () => {
    const host = localHost();
    writeFileSync(join(host.dir, 'state'), state('healthy'));
    writeFileSync(join(host.dir, 'warn'), '');
    const poller = await StackPoller.open(host.session, { engine: 'docker' }, 'sbx-aaaaaaaaaaaa');
    try {
      const output = await poller.poll();
      expect(output).not.toContain('WARNING');
      expect(parseContainers(output).map((c) => c.status)).toEqual(['running, healthy']);
    } finally {
      poller.close();
    }
  });

  test("Podman: an overdue container's health check runs before the poll; a non-id is refused before anything is sent", async () => {
    const host = localHost();
    writeFileSync(join(host.dir, 'state'), state('starting'));
    const poller = await StackPoller.open(host.session, { engine: 'podman' }, 'sbx-aaaaaaaaaaaa');
    try {
      await poller.poll([ID]);
      await expect(poller.poll(['x; touch /tmp/pwned'])).rejects.toThrow(/not a container id/);
    } finally {
      poller.close();
    }
    const calls = readFileSync(join(host.dir, 'calls'), 'utf8').trim().split('\n');
    expect(calls[0]).toBe(`healthcheck run ${ID}`);
    expect(calls).toHaveLength(3); // healthcheck, ps, inspect: nothing for the refused poll
  });

  test('a container whose labels hold a boundary-like line cannot end a poll early: the boundary is random', async () => {
    const host = localHost();
    writeFileSync(join(host.dir, 'state'), `sandboxer-poll-0000000000000000 0\n${state('starting')}`);
    const poller = await StackPoller.open(host.session, { engine: 'docker' }, 'sbx-aaaaaaaaaaaa');
    try {
      expect(parseContainers(await poller.poll())).toHaveLength(1);
    } finally {
      poller.close();
    }
  });

  test('a loop prepared while `up` runs is the one the wait polls; one for another project is not', async () => {
    const host = localHost();
    writeFileSync(join(host.dir, 'state'), state('healthy'));
    StackPoller.prepare(host.session, { engine: 'docker' }, 'sbx-aaaaaaaaaaaa');
    expect(host.streams()).toBe(1);
    const poller = await StackPoller.open(host.session, { engine: 'docker' }, 'sbx-aaaaaaaaaaaa');
    try {
      expect(parseContainers(await poller.poll())).toHaveLength(1);
    } finally {
      poller.close();
    }
    expect(host.streams()).toBe(1);
    StackPoller.prepare(host.session, { engine: 'docker' }, 'sbx-bbbbbbbbbbbb');
    const other = await StackPoller.open(host.session, { engine: 'docker' }, 'sbx-aaaaaaaaaaaa');
    other.close();
    expect(host.streams()).toBe(3);
  });

  test('the loop quotes the engine and project it runs', () => {
    const script = pollLoopScript({ engine: 'docker' }, "sbx-x'; rm -rf ~", 'sandboxer-poll-0123');
    expect(script).toContain(`'label=com.docker.compose.project=sbx-x'\\''; rm -rf ~'`);
    expect(script).toContain('while read -r ids; do');
  });
});
