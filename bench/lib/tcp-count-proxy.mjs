// A counting TCP proxy: listens on 127.0.0.1:<free port>, forwards every connection to one target
// (the testbed's sshd), and counts connections and bytes each way. Pointing both sand-boxer and the
// baseline at it measures exactly what each sends to the host, whatever the tool does inside (ssh2
// in-process, rsync's own ssh, ssh per command). It also remembers the local port of each upstream
// connection, which is how sshd's log names it ("Accepted publickey for … port N"), so logins can be
// matched to the connections of one operation even while others use the same sshd.
import { connect, createServer } from 'node:net';

/**
 * @typedef {object} ProxiedConnection
 * @property {number} index
 * @property {number} up bytes client → target
 * @property {number} down bytes target → client
 * @property {number | undefined} upstreamPort local port of the proxy's connection to the target
 * @property {boolean} closed
 */

/**
 * @param {{ targetHost: string, targetPort: number, listenHost?: string }} options
 * @returns {Promise<{ port: number, mark: () => number, since: (mark: number) => ProxyCount,
 *   settle: (timeoutMs?: number) => Promise<void>, close: () => Promise<void> }>}
 */
export async function startCountingProxy({ targetHost, targetPort, listenHost = '127.0.0.1' }) {
  /** @type {ProxiedConnection[]} */
  const connections = [];
  const sockets = new Set();
  const server = createServer({ noDelay: true }, (client) => {
    /** @type {ProxiedConnection} */
    const record = { index: connections.length, up: 0, down: 0, upstreamPort: undefined, closed: false };
    connections.push(record);
    const upstream = connect({ host: targetHost, port: targetPort, noDelay: true });
    sockets.add(client);
    sockets.add(upstream);
    upstream.once('connect', () => {
      record.upstreamPort = upstream.localPort;
    });
    client.on('data', (chunk) => {
      record.up += chunk.length;
    });
    upstream.on('data', (chunk) => {
      record.down += chunk.length;
    });
    client.pipe(upstream);
    upstream.pipe(client);
    let open = 2;
    const done = (socket) => () => {
      sockets.delete(socket);
      open -= 1;
      if (open === 0) record.closed = true;
    };
    client.once('close', done(client));
    upstream.once('close', done(upstream));
    // Either side failing ends both: the tool sees a dropped connection, as it would without us.
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, listenHost, resolve);
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    port,
    /** A point to count from: the number of connections so far. */
    mark: () => connections.length,
    /** Connections opened since `mark`, with their bytes (call settle() first for final numbers). */
    since: (mark) => summarize(connections.slice(mark)),
    /** Waits until every connection has closed (the tool exited), at most `timeoutMs`. */
    async settle(timeoutMs = 3000) {
      const deadline = Date.now() + timeoutMs;
      while (connections.some((c) => !c.closed) && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    },
    close() {
      for (const socket of sockets) socket.destroy();
      return new Promise((resolve) => server.close(() => resolve(undefined)));
    },
  };
}

/**
 * @typedef {object} ProxyCount
 * @property {number} connections
 * @property {number} bytesUp client → host
 * @property {number} bytesDown host → client
 * @property {(number | undefined)[]} upstreamPorts
 * @property {number[]} perConnectionUp
 */

/** @param {ProxiedConnection[]} list @returns {ProxyCount} */
function summarize(list) {
  return {
    connections: list.length,
    bytesUp: list.reduce((sum, c) => sum + c.up, 0),
    bytesDown: list.reduce((sum, c) => sum + c.down, 0),
    // One entry per connection, in order (undefined: it never reached the target).
    upstreamPorts: list.map((c) => c.upstreamPort),
    perConnectionUp: list.map((c) => c.up),
  };
}
