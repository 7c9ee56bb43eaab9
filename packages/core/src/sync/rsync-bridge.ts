import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import type { RemoteStream, SshSession } from '../ssh/session.js';
import { TailBuffer } from '../ssh/tail-buffer.js';

/**
 * rsync over the SSH connection this process already has open. rsync starts its "remote shell" as
 * `<rsh> [-l user] host command…`; here that shell is a tiny Node program (BRIDGE_PROGRAM) that hands
 * the command and its stdin/stdout to this process over a socket pair this process gave rsync as
 * descriptor 3 (rsync's children inherit it), and this process runs the command on a channel of the
 * session. A second login would cost a TCP and SSH handshake, a key exchange and a public-key
 * authentication (~7 round trips: 0.35 s at 50 ms RTT), a copy of the key on disk for OpenSSH, and a
 * known_hosts file; over the open connection it is one channel, and a ProxyJump or an agent costs
 * nothing more. No other process can reach the socket pair: it has no name.
 */

/** The descriptor rsync is given, and its remote shell inherits: one end of a socket pair. */
export const BRIDGE_FD = 3;

/**
 * The bridge, run by rsync as `node <this file> [-l user] host command…`. It sends the command
 * (joined by spaces, as ssh does: rsync quoted its words for the remote shell) as one JSON line,
 * then pipes stdin to the socket and the socket to stdout. When the socket ends, it exits with the
 * remote command's status, which this process wrote into the scratch directory beside it (rsync
 * reports it, as it reports ssh's); with no status there, this process died (no `finally` ran), and
 * the bridge removes the scratch directory itself. rsync ends with its remote shell, so nothing of a
 * sync outlives this process. CommonJS, no dependencies: it must run from the bundled action too.
 */
export const BRIDGE_PROGRAM = `'use strict';
const fs = require('node:fs');
const net = require('node:net');
const path = require('node:path');
const args = process.argv.slice(2);
const words = args[0] === '-l' ? args.slice(3) : args.slice(1);
function statusOrCleanUp() {
  try {
    return Number(fs.readFileSync(path.join(__dirname, 'status'), 'utf8'));
  } catch {
    if (path.basename(__dirname).startsWith('sandboxer-sync-')) fs.rmSync(__dirname, { recursive: true, force: true });
    return 255;
  }
}
let socket;
try {
  socket = new net.Socket({ fd: ${BRIDGE_FD}, readable: true, writable: true });
} catch (error) {
  process.stderr.write('sandboxer rsync bridge: no descriptor ${BRIDGE_FD} from the sync (this rsync closes inherited descriptors; use GNU rsync 3.x here, or the input sync_method=tar): ' + error.message + '\\n');
  process.exit(255);
}
socket.on('error', (error) => {
  process.stderr.write('sandboxer rsync bridge: ' + error.message + '\\n');
  statusOrCleanUp();
  process.exit(255);
});
socket.write(JSON.stringify(words.join(' ')) + '\\n');
process.stdin.pipe(socket);
socket.pipe(process.stdout, { end: false });
socket.on('end', () => {
  const status = statusOrCleanUp();
  process.stdout.write('', () => process.exit(status));
});
`;

/** Writes the bridge into `scratch`; returns rsync's `-e` words for it. */
export function bridgeRemoteShell(scratch: string): string[] {
  const program = join(scratch, 'bridge.cjs');
  writeFileSync(program, BRIDGE_PROGRAM, { mode: 0o600 });
  return [process.execPath, program];
}

/** One bridged command, as it runs. */
export interface BridgedCommand {
  /** Settles when the command is over (or was refused) and the bridge has been told. */
  done: Promise<void>;
  /** The remote command's stderr (rsync's server and what runs around it), its tail. */
  stderr(): string;
  /** Stops the command if it still runs (rsync exited without waiting for it: killed). */
  stop(): void;
}

/** A command line longer than this is not rsync's. */
const MAX_COMMAND_BYTES = 64 * 1024;

/**
 * Serves the bridge on this process's end of the socket pair: reads its command line, runs it on
 * `session` — only a command starting with `expect` (the remote rsync's path and ` --server `) —
 * pipes both ways, and leaves its status in `scratch` for the bridge.
 */
export function serveBridge(
  socket: Duplex,
  session: SshSession,
  scratch: string,
  expect: string,
): BridgedCommand {
  const stderr = new TailBuffer(256 * 1024);
  let remote: RemoteStream | undefined;
  let over = false;
  const status = (code: number | null) => {
    try {
      writeFileSync(join(scratch, 'status'), String(code ?? 255));
    } catch {
      // The scratch directory is gone (rsync failed to start and the sync already cleaned up): no
      // bridge is left to read it.
    }
  };
  // rsync's EOF must not end this side too (Node's default for a child's socket): the bridge reads
  // the status once this side ends, which is after the command, and the command may outlive the EOF.
  socket.allowHalfOpen = true;
  const done = (async () => {
    try {
      const { line, rest } = await firstLine(socket);
      const cmd: unknown = JSON.parse(line);
      if (typeof cmd !== 'string' || !cmd.startsWith(expect)) {
        throw new Error(
          `refused a command that is not the expected rsync: ${JSON.stringify(cmd).slice(0, 200)}`,
        );
      }
      remote = await session.stream(cmd, 'rsync');
      const channel = remote;
      channel.errors.on('data', (chunk: Buffer) => stderr.push(chunk));
      channel.output.pipe(socket, { end: false });
      if (rest.length > 0) channel.input.write(rest);
      // EOF from rsync is passed on as EOF, as ssh does; the command may go on (the cache's fill).
      socket.pipe(channel.input);
      socket.on('error', () => channel.stop());
      status(await channel.done);
    } catch (error) {
      stderr.push(Buffer.from(`${error instanceof Error ? error.message : String(error)}\n`));
      status(255);
      remote?.stop();
    }
    over = true;
    socket.end();
  })();
  return {
    done,
    stderr: () => stderr.text(),
    stop: () => {
      if (!over) remote?.stop();
    },
  };
}

/** The bridge's JSON command line, and whatever rsync sent after it. */
function firstLine(socket: Duplex): Promise<{ line: string; rest: Buffer }> {
  return new Promise((resolve, reject) => {
    let head = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      head = Buffer.concat([head, chunk]);
      const newline = head.indexOf(10);
      if (newline < 0) {
        if (head.length > MAX_COMMAND_BYTES) settle(new Error('the rsync bridge sent no command line'));
        return;
      }
      socket.pause();
      settle(undefined, {
        line: head.subarray(0, newline).toString('utf8'),
        rest: head.subarray(newline + 1),
      });
    };
    const onEnd = () => settle(new Error('the rsync bridge closed before sending its command'));
    const settle = (error?: Error, value?: { line: string; rest: Buffer }) => {
      socket.off('data', onData);
      socket.off('end', onEnd);
      socket.off('error', onEnd);
      if (error) reject(error);
      else resolve(value as { line: string; rest: Buffer });
    };
    socket.on('data', onData);
    socket.on('end', onEnd);
    socket.on('error', onEnd);
  });
}
