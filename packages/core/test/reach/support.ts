import { connect, createServer, type Server } from 'node:net';
import type { SandboxChannel } from '../../src/extensions/contract.js';
import type { SandboxRecord } from '../../src/records/sandbox.js';
import { sandboxRecord } from '../support/fixtures.js';

/** A ready record with these endpoints (a compose sandbox unless `compose` is false). */
export function recordWith(endpoints: Record<string, string>, compose = true): SandboxRecord {
  return sandboxRecord({
    host: 'u@127.0.0.1:22',
    expires_at: new Date(Date.now() + 3600_000).toISOString(),
    ttl_seconds: 3600,
    reachability: { endpoints, ...(compose ? { compose_project: 'sbx-x' } : {}) },
  });
}

/**
 * A channel over plain local TCP that counts how it is used, and that a test can "drop" (alive
 * becomes false and its streams end), as an SSH connection drops.
 */
export class LocalChannel implements SandboxChannel {
  alive = true;
  connects: Array<{ host: string; port: number }> = [];
  readonly #sockets = new Set<ReturnType<typeof connect>>();

  connect(host: string, port: number) {
    if (!this.alive) return Promise.reject(new Error('channel closed'));
    this.connects.push({ host, port });
    return new Promise<ReturnType<typeof connect>>((resolve, reject) => {
      const socket = connect({ host, port });
      this.#sockets.add(socket);
      socket.once('connect', () => resolve(socket));
      socket.once('error', reject);
    });
  }

  drop(): void {
    this.alive = false;
    for (const socket of this.#sockets) socket.destroy();
  }

  close(): void {
    this.drop();
  }
}

/** An HTTP-ish server on 127.0.0.1 answering every request with `status` and `body`. */
export async function tinyHttp(status: number, body = 'hello'): Promise<{ server: Server; port: number }> {
  const server = createServer((socket) => {
    socket.once('data', () => {
      socket.end(
        `HTTP/1.1 ${status} X\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`,
      );
    });
    socket.on('error', () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  return { server, port: typeof address === 'object' && address ? address.port : 0 };
}

/** GET `url` with a raw socket (no keep-alive pools in the way); resolves the whole answer. */
export function fetchText(url: string): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: hostname, port: Number(port) });
    let text = '';
    socket.on('data', (chunk) => {
      text += chunk;
    });
    socket.on('end', () => resolve(text));
    socket.on('error', reject);
    socket.write(`GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
  });
}
