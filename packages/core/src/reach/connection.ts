import { setTimeout as sleep } from 'node:timers/promises';
import { messageOf } from '../errors.js';
import type { SandboxChannel } from '../extensions/contract.js';

export interface ConnectionOptions {
  /** Opens a connection to the sandbox's host (the extension's openChannel). */
  open: () => Promise<SandboxChannel>;
  /** Where reconnects are reported, … */
  log?: (message: string) => void;
  /** … as `<name>: reconnected` (default `connection`). */
  name?: string;
  /** How often a dropped connection is noticed and reopened (default 2 s). */
  checkMs?: number;
}

/**
 * A keeper's one connection to a sandbox's host, shared by its port forwards and its lease renewals,
 * and reopened (backing off while the host does not answer) when it drops.
 */
export class HostConnection {
  readonly #options: ConnectionOptions;
  #channel: SandboxChannel | undefined;
  #opening: Promise<SandboxChannel> | undefined;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;
  /** How many times the connection was reopened after it dropped. */
  reconnects = 0;
  /** How many connections were opened in all (the first included). */
  opened = 0;

  constructor(options: ConnectionOptions) {
    this.#options = options;
  }

  /**
   * The open connection, or a new one (one at a time). The first open fails fast, so a caller learns
   * at once that the host cannot be reached; once one was open, a dropped one is retried until it
   * comes back or `close` is called. Watched from the first success, so a drop is mended before the
   * next caller needs it.
   */
  get(): Promise<SandboxChannel> {
    if (this.#channel?.alive) return Promise.resolve(this.#channel);
    this.#opening ??= this.#open().finally(() => {
      this.#opening = undefined;
    });
    return this.#opening;
  }

  close(): void {
    this.#closed = true;
    if (this.#timer) clearInterval(this.#timer);
    this.#channel?.close();
  }

  async #open(): Promise<SandboxChannel> {
    const dropped = this.#channel !== undefined;
    this.#channel?.close();
    this.#channel = undefined;
    for (let attempt = 0; ; attempt++) {
      if (this.#closed) throw new Error('the connection was closed');
      try {
        const channel = await this.#options.open();
        this.opened += 1;
        if (dropped) {
          this.reconnects += 1;
          this.#options.log?.(`${this.#options.name ?? 'connection'}: reconnected`);
        }
        this.#channel = channel;
        this.#watch();
        return channel;
      } catch (error) {
        if (attempt === 0 && !dropped) throw error;
        this.#options.log?.(`${this.#options.name ?? 'connection'}: reconnecting (${messageOf(error)})`);
        await sleep(Math.min(500 * 2 ** attempt, 5000));
      }
    }
  }

  #watch(): void {
    if (this.#timer) return;
    this.#timer = setInterval(() => {
      if (this.#channel && !this.#channel.alive) void this.get().catch(() => {});
    }, this.#options.checkMs ?? 2000);
    this.#timer.unref();
  }
}
