/**
 * The long operations the server runs on behalf of clients (creates, destroys). They outlive the
 * request that started them; the server shows their progress and, on shutdown, lets them finish
 * or interrupts them so they roll back.
 */
export interface Operation {
  kind: 'create' | 'destroy';
  status: 'running' | 'succeeded' | 'failed';
  started_at: string;
  finished_at?: string;
  /** The latest progress lines (bounded). */
  progress: string[];
  error?: { code: string; message: string };
}

const KEEP_LINES = 20;
const KEEP_FINISHED = 1000;

export class Operations {
  readonly #byId = new Map<string, Operation>();
  readonly #running = new Map<Promise<unknown>, AbortController>();
  /** The running work of each sandbox, so a client can stop it (DELETE during a create). */
  readonly #bySandbox = new Map<string, Promise<unknown>>();
  /** Set by drain(): new operations are refused from then on. */
  draining = false;

  get(id: string): Operation | undefined {
    return this.#byId.get(id);
  }

  begin(id: string, kind: Operation['kind']): Operation {
    const op: Operation = { kind, status: 'running', started_at: new Date().toISOString(), progress: [] };
    this.#byId.set(id, op);
    if (this.#byId.size > KEEP_FINISHED) {
      for (const [key, value] of this.#byId) {
        if (value.status !== 'running') {
          this.#byId.delete(key);
          break;
        }
      }
    }
    return op;
  }

  note(op: Operation | undefined, message: string): void {
    if (!op) return;
    op.progress.push(message);
    if (op.progress.length > KEEP_LINES) op.progress.shift();
  }

  finish(op: Operation | undefined, error?: { code: string; message: string }): void {
    if (!op) return;
    op.status = error ? 'failed' : 'succeeded';
    op.finished_at = new Date().toISOString();
    if (error) op.error = error;
  }

  /** Tracks a running promise so shutdown can wait for it, or abort it; `sandbox` names what it works on. */
  track<T>(work: Promise<T>, controller: AbortController, sandbox?: string): Promise<T> {
    this.#running.set(work, controller);
    if (sandbox) this.#bySandbox.set(sandbox, work);
    const done = () => {
      this.#running.delete(work);
      if (sandbox && this.#bySandbox.get(sandbox) === work) this.#bySandbox.delete(sandbox);
    };
    work.then(done, done);
    return work;
  }

  /** Aborts the work running on a sandbox here (it rolls back) and waits for it; false if there is none. */
  async cancel(sandbox: string): Promise<boolean> {
    const work = this.#bySandbox.get(sandbox);
    if (!work) return false;
    this.#running.get(work)?.abort();
    await work.catch(() => {});
    return true;
  }

  get inFlight(): number {
    return this.#running.size;
  }

  /** Waits up to `graceMs` for running work; then aborts what is left (creates roll back) and waits for it. */
  async drain(graceMs: number, abortWaitMs = 60_000): Promise<{ finished: number; interrupted: number }> {
    this.draining = true;
    const all = [...this.#running.keys()];
    const settle = (ms: number) =>
      // unref: a pending deadline must not keep the process alive once the work is done.
      Promise.race([
        Promise.allSettled([...this.#running.keys()]),
        new Promise((r) => setTimeout(r, ms).unref()),
      ]);
    await settle(graceMs);
    const left = [...this.#running.values()];
    for (const controller of left) controller.abort();
    if (left.length > 0) await settle(abortWaitMs);
    return { finished: all.length - left.length, interrupted: left.length };
  }
}
