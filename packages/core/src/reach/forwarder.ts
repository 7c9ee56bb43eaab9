import { createServer, type Server, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { InputError, messageOf } from '../errors.js';
import type { SandboxChannel } from '../extensions/contract.js';
import type { PortTarget } from './targets.js';

export interface ForwardOptions {
  /** Opens a connection to the sandbox's host (the extension's openChannel). */
  open: () => Promise<SandboxChannel>;
  /** Where reconnects and failed streams are reported. */
  log?: (message: string) => void;
  /** How often a dropped connection is noticed and reopened (default 2 s). */
  checkMs?: number;
}

/** One local listener per target, all tunnelled over one connection that is reopened when it drops. */
export class PortForwarder {
  readonly #options: ForwardOptions;
  readonly #servers: Server[] = [];
  readonly #sockets = new Set<Socket>();
  #channel: SandboxChannel | undefined;
  #opening: Promise<SandboxChannel> | undefined;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;
  /** How many times the connection was reopened after it dropped. */
  reconnects = 0;

  constructor(options: ForwardOptions) {
    this.#options = options;
  }

  /**
   * Opens the connection, then a listener on 127.0.0.1 per target (a free port unless `local` says
   * which); resolves `name → http://127.0.0.1:<port>`.
   */
  async start(targets: PortTarget[], locals: Record<string, number> = {}): Promise<Record<string, string>> {
    if (targets.length === 0)
      throw new InputError('nothing to forward: the sandbox publishes no ports', { field: 'forward' });
    await this.#connection();
    const urls: Record<string, string> = {};
    for (const target of targets) {
      const server = createServer((socket) => this.#accept(socket, target));
      this.#servers.push(server);
      const port = await new Promise<number>((resolve, reject) => {
        server.once('error', (error: NodeJS.ErrnoException) =>
          reject(
            error.code === 'EADDRINUSE'
              ? new InputError(`local port ${locals[target.name]} is already in use`, { field: 'local' })
              : error,
          ),
        );
        server.listen(locals[target.name] ?? 0, '127.0.0.1', () => {
          const address = server.address();
          resolve(typeof address === 'object' && address ? address.port : 0);
        });
      });
      urls[target.name] = `http://127.0.0.1:${port}`;
    }
    // A dropped connection is reopened by itself, not only when the next client comes.
    this.#timer = setInterval(() => {
      if (this.#channel && !this.#channel.alive) void this.#connection().catch(() => {});
    }, this.#options.checkMs ?? 2000);
    this.#timer.unref();
    return urls;
  }

  stop(): void {
    this.#stopped = true;
    if (this.#timer) clearInterval(this.#timer);
    for (const server of this.#servers) server.close();
    for (const socket of this.#sockets) socket.destroy();
    this.#channel?.close();
  }

  /** The open connection, or a new one (one at a time; backing off while the host does not answer). */
  #connection(): Promise<SandboxChannel> {
    if (this.#channel?.alive) return Promise.resolve(this.#channel);
    this.#opening ??= (async () => {
      const dropped = this.#channel !== undefined;
      this.#channel?.close();
      this.#channel = undefined;
      for (let attempt = 0; ; attempt++) {
        if (this.#stopped) throw new Error('stopped');
        try {
          const channel = await this.#options.open();
          if (dropped) {
            this.reconnects += 1;
            this.#options.log?.('forward: reconnected');
          }
          this.#channel = channel;
          return channel;
        } catch (error) {
          if (attempt === 0 && !dropped) throw error;
          this.#options.log?.(`forward: reconnecting (${messageOf(error)})`);
          await sleep(Math.min(500 * 2 ** attempt, 5000));
        }
      }
    })().finally(() => {
      this.#opening = undefined;
    });
    return this.#opening;
  }

  async #accept(socket: Socket, target: PortTarget): Promise<void> {
    this.#sockets.add(socket);
    socket.once('close', () => this.#sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    let remote: Duplex;
    try {
      remote = await (await this.#connection()).connect(target.host, target.port);
    } catch (error) {
      this.#options.log?.(`forward ${target.name}: ${messageOf(error)}`);
      socket.destroy();
      return;
    }
    remote.on('error', () => socket.destroy());
    socket.on('error', () => remote.destroy());
    socket.pipe(remote).pipe(socket);
    socket.once('close', () => remote.destroy());
    remote.once('close', () => socket.destroy());
  }
}
