// The cuttable TCP proxy of support/cut-proxy.ts, run as its own process: the test worker blocks its
// event loop in spawnSync (support/cli.ts) while the CLI talks through the proxy, so the proxy
// cannot live in the worker. Modelled on bench/lib/tcp-count-proxy.mjs.
//   node cut-proxy-server.mjs <targetHost> <targetPort>
// IPC in:  {type: 'arm', connection, afterBytesUp, reset?} | {type: 'cut', reset?, refuse?} | {type: 'accept'}
//          reset: the client gets a TCP RST (as from a middlebox that dropped the flow); else a clean
//          FIN (what it still sends is read and dropped, so the kernel never answers with a RST);
//          refuse: new connections are reset at once until 'accept' (the host stays unreachable)
// IPC out: {type: 'listening', port} | {type: 'cut', count} | {type: 'accepting'}
import { connect, createServer } from 'node:net';

const [targetHost, targetPort] = process.argv.slice(2);
/** @type {Array<{ index: number, up: number, open: boolean }>} */
const connections = [];
/** @type {Set<{ client: import('node:net').Socket, upstream: import('node:net').Socket }>} */
const pairs = new Set();
/** @type {{ connection: number, afterBytesUp: number, reset?: boolean } | undefined} */
let armed;
let refusing = false;

/** @param {boolean} reset */
function cut(reset) {
  const count = connections.filter((c) => c.open).length;
  for (const { client, upstream } of pairs) {
    client.unpipe(upstream);
    upstream.unpipe(client);
    upstream.destroy();
    if (reset) {
      client.resetAndDestroy();
      continue;
    }
    client.on('data', () => {});
    client.end();
    setTimeout(() => client.destroy(), 5000).unref();
  }
  pairs.clear();
  process.send?.({ type: 'cut', count });
}

const server = createServer({ noDelay: true }, (client) => {
  if (refusing) {
    client.resetAndDestroy();
    return;
  }
  const record = { index: connections.length, up: 0, open: true };
  connections.push(record);
  const upstream = connect({ host: targetHost, port: Number(targetPort), noDelay: true });
  const pair = { client, upstream };
  pairs.add(pair);
  client.on('data', (chunk) => {
    record.up += chunk.length;
    if (armed && record.index >= armed.connection && record.up >= armed.afterBytesUp) {
      const reset = armed.reset === true;
      armed = undefined;
      cut(reset);
    }
  });
  client.pipe(upstream);
  upstream.pipe(client);
  const closed = () => {
    record.open = false;
    if (!pairs.delete(pair)) return; // already cut
    client.destroy();
    upstream.destroy();
  };
  for (const socket of [client, upstream]) {
    socket.once('close', closed);
    socket.on('error', closed);
  }
});

process.on('message', (message) => {
  if (message.type === 'arm') armed = message;
  if (message.type === 'cut') {
    refusing = message.refuse === true;
    cut(message.reset === true);
  }
  if (message.type === 'accept') {
    refusing = false;
    process.send?.({ type: 'accepting' });
  }
});
process.on('disconnect', () => process.exit(0));
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  process.send?.({ type: 'listening', port: typeof address === 'object' && address ? address.port : 0 });
});
