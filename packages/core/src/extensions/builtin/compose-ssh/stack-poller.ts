import { randomBytes } from 'node:crypto';
import { InputError, RemoteCommandError, SshError } from '../../../errors.js';
import { command } from '../../../ssh/quote.js';
import type { RemoteStream, SshSession } from '../../../ssh/session.js';
import { lastLines, TailBuffer } from '../../../ssh/tail-buffer.js';
import { type ComposeRuntime, inspectProjectCommand } from './commands.js';

/**
 * The readiness polls of one wait as one command on the host. A poll used to be a command of its
 * own: a channel opened, an exec request answered, then the output — three round trips, the last
 * of which decides how late a create notices its stack is ready. Here a loop on the host answers
 * each line it reads with the host's clock and the project's containers, so a poll costs one round
 * trip, and one channel serves the whole wait.
 */

const CONTAINER_ID = /^[0-9a-f]{12,64}$/;

/** How long one poll may take before the wait gives up on the host (as a command's default limit). */
const POLL_TIMEOUT_MS = 120_000;

/**
 * The loop: for each line (`<ids>`: containers whose overdue health checks to run first, Podman),
 * it prints `now <ms>` and the project's containers (inspectProjectCommand, in a command
 * substitution: its `exit` ends that poll, not the loop), then `<boundary> <status>`, the poll's
 * stderr and `<boundary>.`. The stderr is captured and printed in line because the channel's
 * stderr is a stream of its own: its text can arrive after the stdout that ends the poll, and the
 * poll's error would lose it. (A `( … ) 1>&3` subshell would be simpler, but dash drops that
 * redirection inside `$( … )`; a `{ …; }` group keeps it.) It ends at EOF on its stdin.
 */
export function pollLoopScript(
  runtime: Pick<ComposeRuntime, 'engine'>,
  project: string,
  boundary: string,
): string {
  const healthcheck = `${command(runtime.engine, 'healthcheck', 'run')} "$id" >/dev/null 2>&1`;
  return [
    'exec 3>&1',
    'while read -r ids; do',
    // The ids were checked before they were sent; checked again, as anything that reaches a shell.
    `for id in $ids; do case "$id" in *[!0-9a-f]*) ;; *) ${healthcheck} ;; esac; done`,
    `err=$( { { printf 'now %s\\n' "$(date +%s%3N)"; ${inspectProjectCommand(runtime, project)}; } 1>&3; } 2>&1 )`,
    `printf '\\n%s %s\\n%s\\n%s.\\n' ${boundary} "$?" "$err" ${boundary}`,
    'done',
  ].join('\n');
}

/** Loops started ahead of their wait (see StackPoller.prepare), by session, for one project each. */
const prepared = new WeakMap<SshSession, { project: string; poller: Promise<StackPoller> }>();

/** One loop on the host, polled by the wait (see waitUntilReady). */
export class StackPoller {
  readonly #stream: RemoteStream;
  readonly #boundary: string;
  readonly #destination: string;
  #stdout = '';
  /** The loop's own stderr (a poll's comes in line, see pollLoopScript). */
  #stderr = new TailBuffer(64 * 1024);
  #waiting: ((error?: Error) => void) | undefined;
  #over = false;

  private constructor(stream: RemoteStream, boundary: string, destination: string) {
    this.#stream = stream;
    this.#boundary = boundary;
    this.#destination = destination;
    stream.output.on('data', (chunk: Buffer) => {
      this.#stdout += chunk.toString('utf8');
      this.#waiting?.();
    });
    stream.errors.on('data', (chunk: Buffer) => this.#stderr.push(chunk));
    void stream.done.then(() => {
      this.#over = true;
      this.#waiting?.();
    });
  }

  /**
   * Starts the loop while `compose up` runs (it waits on its stdin until the first poll), so the
   * wait that follows on the same session finds it open: its first poll is one round trip, which
   * for a stack without health checks is the whole wait. A session that is closed takes it along.
   */
  static prepare(session: SshSession, runtime: Pick<ComposeRuntime, 'engine'>, project: string): void {
    const poller = StackPoller.#start(session, runtime, project);
    poller.catch(() => {}); // the wait opens its own if this one failed
    prepared.set(session, { project, poller });
  }

  /** The loop prepared on `session` for `project`, else a new one. */
  static async open(
    session: SshSession,
    runtime: Pick<ComposeRuntime, 'engine'>,
    project: string,
  ): Promise<StackPoller> {
    const ready = prepared.get(session);
    prepared.delete(session);
    if (ready?.project === project) {
      const poller = await ready.poller.catch(() => undefined);
      if (poller && !poller.#over) return poller;
    } else if (ready) {
      void ready.poller.then(
        (other) => other.close(),
        () => {},
      ); // another project's: not needed
    }
    return StackPoller.#start(session, runtime, project);
  }

  /** Starts a loop; a random boundary, so no container's labels can fake one. */
  static async #start(
    session: SshSession,
    runtime: Pick<ComposeRuntime, 'engine'>,
    project: string,
  ): Promise<StackPoller> {
    const boundary = `sandboxer-poll-${randomBytes(8).toString('hex')}`;
    const stream = await session.stream(pollLoopScript(runtime, project, boundary), 'inspecting the stack');
    return new StackPoller(stream, boundary, session.destination);
  }

  /**
   * One poll: runs `overdue` containers' health checks, then returns what the host printed (its
   * clock and the containers), as one `inspecting the stack` command did. A failing inspection is
   * a RemoteCommandError with stderr's tail, as before.
   */
  async poll(overdue: string[] = []): Promise<string> {
    for (const id of overdue) if (!CONTAINER_ID.test(id)) throw new InputError(`not a container id: ${id}`);
    this.#stream.input.write(`${overdue.join(' ')}\n`);
    const found = await this.#answer(
      new RegExp(`\\n${this.#boundary} (\\d+)\\n([\\s\\S]*?)\\n${this.#boundary}\\.\\n`),
    );
    const output = this.#stdout.slice(0, found.index);
    this.#stdout = this.#stdout.slice(found.index + found[0].length);
    const status = Number(found[1]);
    if (status !== 0) {
      const tail = lastLines(found[2] || output, 20);
      throw new RemoteCommandError(
        `inspecting the stack on ${this.#destination} failed (exit ${status})${tail ? `:\n${tail}` : ''}`,
        status,
      );
    }
    return output;
  }

  /** Waits until the output holds `boundary` (this poll's end), the loop ends, or the poll times out. */
  #answer(boundary: RegExp): Promise<RegExpExecArray> {
    const ended = () => {
      // Each poll's stderr comes in line (see pollLoopScript); what is here is the loop's own.
      const tail = lastLines(this.#stderr.text(), 20);
      return new SshError(
        `the stack's readiness loop on ${this.#destination} ended${tail ? `:\n${tail}` : ''}`,
        'session',
      );
    };
    const late = () =>
      new SshError(
        `inspecting the stack on ${this.#destination} timed out after ${POLL_TIMEOUT_MS / 1000} s`,
        'session',
      );
    return new Promise((resolve, reject) => {
      const check = (error?: Error) => {
        const match = boundary.exec(this.#stdout);
        if (!match && !error && !this.#over) return; // more output to come
        clearTimeout(timer);
        this.#waiting = undefined;
        if (match) resolve(match);
        else reject(error ?? ended());
      };
      const timer = setTimeout(() => check(late()), POLL_TIMEOUT_MS);
      this.#waiting = check;
      check();
    });
  }

  /** Ends the loop (EOF on its stdin), and the channel with it. */
  close(): void {
    this.#stream.input.end();
    this.#stream.stop();
  }
}
