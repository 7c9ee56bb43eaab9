// A counting TCP proxy: listens on 127.0.0.1:<free port>, forwards every connection to one target
// (the testbed's sshd), and counts connections and bytes each way. Pointing both sand-boxer and the
// baseline at it measures exactly what each sends to the host, whatever the tool does inside (ssh2
// in-process, rsync's own ssh, ssh per command). It also remembers the local port of each upstream
// connection, which is how sshd's log names it ("Accepted publickey for … port N"), so logins can be
// matched to the connections of one operation even while others use the same sshd.
//
// With `delayMs` it is also a WAN: every chunk is held that long in each direction, order kept
// (delay-line.mjs), so the round-trip time is 2 × delayMs plus loopback's. The TCP handshake costs
// its round trip too: the proxy connects to the target delayMs after the client connected (the SYN's
// way there), and what the client sends first leaves 2 × delayMs after it connected (when its
// SYN-ACK would have come back); the target's answers come back delayMs later, as all do.
//
// Round trips are counted at the transport, from the client's side of the proxy, whatever the tool:
// a *turn* is a client send after it has received something since its previous send (the first send
// counts too): the number of client→server direction changes. It bounds the request/response round
// trips from above (a window adjust sent after a burst of data is a turn too, so bulk transfers have
// many). With a delay, a *wait* is a turn that came at least 0.9 RTT after the client's previous
// send: the client sat idle for a round trip, as it does when it waits for an answer (or sleeps
// between polls). Encrypted SSH hides channel opens; sshd's log names them (testbed.mjs).
import { createServer, Socket } from 'node:net';
import { delayLine } from './delay-line.mjs';

/**
 * @typedef {object} ProxiedConnection
 * @property {number} index
 * @property {number} openedAt performance.now() when the client connected
 * @property {number} up bytes client → target
 * @property {number} down bytes target → client
 * @property {number} turns client→server direction changes
 * @property {number} waits turns after ≥ 0.9 RTT of client silence (only with a delay)
 * @property {number[]} waitAt when each wait came (performance.now())
 * @property {number | undefined} upstreamPort local port of the proxy's connection to the target
 * @property {boolean} closed
 */

/**
 * @param {{ targetHost: string, targetPort: number, listenHost?: string, delayMs?: number,
 *   mbps?: number }} options
 *   delayMs: one way (RTT / 2); mbps: the link's rate each way (0: loopback's); setDelay changes
 *   both for the connections that follow
 * @returns {Promise<{ port: number, delayMs: number, mbps: number, setDelay: (ms: number, mbps?: number) => void,
 *   mark: () => number, since: (mark: number) => ProxyCount,
 *   settle: (timeoutMs?: number) => Promise<void>, close: () => Promise<void> }>}
 */
export async function startCountingProxy({
  targetHost,
  targetPort,
  listenHost = '127.0.0.1',
  delayMs = 0,
  mbps = 0,
}) {
  /** @type {ProxiedConnection[]} */
  const connections = [];
  const sockets = new Set();
  let oneWay = delayMs;
  // One bottleneck each way, shared by every connection (as one WAN link is).
  let links = { up: { mbps, freeAt: 0 }, down: { mbps, freeAt: 0 } };
  const server = createServer({ noDelay: true, allowHalfOpen: true }, (client) => {
    const delayMs = oneWay; // fixed for the life of the connection, like its link
    const link = links;
    const waitAfterMs = 0.9 * 2 * delayMs;
    /** @type {ProxiedConnection} */
    const record = {
      index: connections.length,
      openedAt: performance.now(),
      up: 0,
      down: 0,
      turns: 0,
      waits: 0,
      waitAt: [],
      upstreamPort: undefined,
      closed: false,
    };
    connections.push(record);
    let received = true; // the first send is a turn too
    let lastSend = record.openedAt; // the TCP handshake is not a turn: it is in `connections`
    const upstream = new Socket({ allowHalfOpen: true });
    const dial = () => upstream.connect({ host: targetHost, port: targetPort, noDelay: true });
    if (delayMs > 0) setTimeout(dial, delayMs);
    else dial();
    sockets.add(client);
    sockets.add(upstream);
    upstream.once('connect', () => {
      record.upstreamPort = upstream.localPort;
    });
    client.on('data', (chunk) => {
      record.up += chunk.length;
      const now = performance.now();
      if (received) {
        record.turns += 1;
        if (delayMs > 0 && record.turns > 1 && now - lastSend >= waitAfterMs) {
          record.waits += 1;
          record.waitAt.push(now);
        }
      }
      received = false;
      lastSend = now;
    });
    const delivered = (chunk) => {
      record.down += chunk.length;
      received = true;
    };
    if (delayMs > 0 || link.up.mbps > 0) {
      const connected = record.openedAt + 2 * delayMs;
      const toUpstream = delayLine(client, upstream, delayMs, () => {}, connected, link.up);
      const toClient = delayLine(upstream, client, delayMs, delivered, 0, link.down);
      client.on('data', (chunk) => toUpstream.push(chunk));
      upstream.on('data', (chunk) => toClient.push(chunk));
      client.once('end', () => toUpstream.end());
      upstream.once('end', () => toClient.end());
      client.once('close', () => toUpstream.destroy());
      upstream.once('close', () => toClient.destroy());
    } else {
      upstream.on('data', delivered);
      client.pipe(upstream);
      upstream.pipe(client);
    }
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
    get delayMs() {
      return oneWay;
    },
    get mbps() {
      return links.up.mbps;
    },
    setDelay(ms, rate = links.up.mbps) {
      oneWay = ms;
      links = { up: { mbps: rate, freeAt: 0 }, down: { mbps: rate, freeAt: 0 } };
    },
    /** A point to count from: the number of connections so far. */
    mark: () => connections.length,
    /** Connections opened since `mark`, with their bytes (call settle() first for final numbers). */
    since: (mark) => summarize(connections.slice(mark)),
    /** Waits until every connection has closed (the tool exited), at most `timeoutMs`. */
    async settle(timeoutMs = 3000 + 4 * oneWay) {
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
 * @property {number[]} perConnectionTurns
 * @property {number[]} perConnectionWaits
 * @property {number[]} openedAt performance.now() of each connection
 * @property {number[][]} waitAt performance.now() of each connection's waits
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
    perConnectionTurns: list.map((c) => c.turns),
    perConnectionWaits: list.map((c) => c.waits),
    openedAt: list.map((c) => c.openedAt),
    waitAt: list.map((c) => c.waitAt),
  };
}
