import { createServer, type Server, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { InputError, messageOf } from '../errors.js';
import { type ConnectionOptions, HostConnection } from './connection.js';
import type { PortTarget } from './targets.js';

export interface ForwardOptions extends Omit<ConnectionOptions, 'open'> {
  /** Opens a connection to the sandbox's host (the extension's openChannel)… */
  open?: ConnectionOptions['open'];
  /** … or the keeper's connection, shared with its lease renewals (closed by its owner). */
  connection?: HostConnection;
}

/** One local listener per target, all tunnelled over one connection that is reopened when it drops. */
export class PortForwarder {
  readonly #log: ((message: string) => void) | undefined;
  readonly #connection: HostConnection;
  readonly #ownsConnection: boolean;
  readonly #servers: Server[] = [];
  readonly #sockets = new Set<Socket>();

  constructor(options: ForwardOptions) {
    this.#log = options.log;
    this.#ownsConnection = options.connection === undefined;
    if (options.connection) this.#connection = options.connection;
    else if (options.open)
      this.#connection = new HostConnection({ name: 'forward', ...options, open: options.open });
    else throw new Error('PortForwarder: give `open` or `connection`');
  }

  /** How many times the connection was reopened after it dropped. */
  get reconnects(): number {
    return this.#connection.reconnects;
  }

  /**
   * Opens the connection, then a listener on 127.0.0.1 per target (a free port unless `local` says
   * which); resolves `name → http://127.0.0.1:<port>`.
   */
  async start(targets: PortTarget[], locals: Record<string, number> = {}): Promise<Record<string, string>> {
    if (targets.length === 0)
      throw new InputError('nothing to forward: the sandbox publishes no ports', { field: 'forward' });
    await this.#connection.get();
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
    return urls;
  }

  stop(): void {
    for (const server of this.#servers) server.close();
    for (const socket of this.#sockets) socket.destroy();
    if (this.#ownsConnection) this.#connection.close();
  }

  async #accept(socket: Socket, target: PortTarget): Promise<void> {
    this.#sockets.add(socket);
    socket.once('close', () => this.#sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    let remote: Duplex;
    try {
      remote = await (await this.#connection.get()).connect(target.host, target.port);
    } catch (error) {
      this.#log?.(`forward ${target.name}: ${messageOf(error)}`);
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
