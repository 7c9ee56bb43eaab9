import type { Server } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, test } from 'vitest';
import { PortForwarder } from '../../src/reach/forwarder.js';
import { fetchText, LocalChannel, tinyHttp } from './support.js';

const servers: Server[] = [];
const forwarders: PortForwarder[] = [];
afterEach(() => {
  for (const server of servers.splice(0)) server.close();
  for (const forwarder of forwarders.splice(0)) forwarder.stop();
});

async function upstream(body: string) {
  const { server, port } = await tinyHttp(200, body);
  servers.push(server);
  return port;
}

describe('PortForwarder: local listeners over one connection', () => {
  test('several ports share one channel; each URL reaches its own target', async () => {
    const web = await upstream('web');
    const api = await upstream('api');
    const channels: LocalChannel[] = [];
    const forwarder = new PortForwarder({
      open: async () => {
        const channel = new LocalChannel();
        channels.push(channel);
        return channel;
      },
    });
    forwarders.push(forwarder);
    const urls = await forwarder.start([
      { name: 'web:8080', host: '127.0.0.1', port: web },
      { name: 'api:9000', host: '127.0.0.1', port: api },
    ]);
    expect(Object.keys(urls)).toEqual(['web:8080', 'api:9000']);
    for (const url of Object.values(urls)) expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(await fetchText(urls['web:8080'] as string)).toMatch(/\r\n\r\nweb$/);
    expect(await fetchText(urls['api:9000'] as string)).toMatch(/\r\n\r\napi$/);
    expect(await fetchText(urls['web:8080'] as string)).toMatch(/web$/);
    expect(channels).toHaveLength(1);
    expect(channels[0]?.connects).toHaveLength(3);
  });

  test('a dropped connection is reopened by itself, and forwarding goes on', async () => {
    const web = await upstream('web');
    const channels: LocalChannel[] = [];
    const log: string[] = [];
    const forwarder = new PortForwarder({
      open: async () => {
        const channel = new LocalChannel();
        channels.push(channel);
        return channel;
      },
      log: (m) => log.push(m),
      checkMs: 50,
    });
    forwarders.push(forwarder);
    const urls = await forwarder.start([{ name: 'web:8080', host: '127.0.0.1', port: web }]);
    channels[0]?.drop();
    for (let i = 0; i < 100 && forwarder.reconnects === 0; i++) await sleep(20);
    expect(forwarder.reconnects).toBe(1);
    expect(log).toContain('forward: reconnected');
    expect(await fetchText(urls['web:8080'] as string)).toMatch(/web$/);
    expect(channels).toHaveLength(2);
  });

  test('while the host does not answer it keeps trying, then carries on', async () => {
    const web = await upstream('web');
    const channels: LocalChannel[] = [];
    let refusals = 0;
    const log: string[] = [];
    const forwarder = new PortForwarder({
      open: async () => {
        // After the first drop the host refuses twice (sshd restarting), then answers.
        if (channels.length === 1 && refusals < 2) {
          refusals += 1;
          throw new Error('connection refused');
        }
        const channel = new LocalChannel();
        channels.push(channel);
        return channel;
      },
      log: (m) => log.push(m),
      checkMs: 20,
    });
    forwarders.push(forwarder);
    const urls = await forwarder.start([{ name: 'web', host: '127.0.0.1', port: web }]);
    channels[0]?.drop();
    for (let i = 0; i < 200 && forwarder.reconnects === 0; i++) await sleep(20);
    expect(log.filter((m) => m === 'forward: reconnecting (connection refused)')).toHaveLength(2);
    expect(forwarder.reconnects).toBe(1);
    expect(await fetchText(urls.web as string)).toMatch(/web$/);
  });

  test('the first connection failing is an error for the caller; stop closes the listeners', async () => {
    const failing = new PortForwarder({ open: async () => Promise.reject(new Error('auth failed')) });
    await expect(failing.start([{ name: 'web', host: '127.0.0.1', port: 1 }])).rejects.toThrow('auth failed');
    const web = await upstream('web');
    const forwarder = new PortForwarder({ open: async () => new LocalChannel() });
    const urls = await forwarder.start([{ name: 'web', host: '127.0.0.1', port: web }]);
    forwarder.stop();
    await expect(fetchText(urls.web as string)).rejects.toThrow(/ECONNREFUSED/);
  });

  test('nothing to forward is an error naming the forward', async () => {
    const forwarder = new PortForwarder({ open: async () => new LocalChannel() });
    await expect(forwarder.start([])).rejects.toThrow(/nothing to forward/);
  });

  test('a local port that is taken is an error naming --local', async () => {
    const web = await upstream('web');
    const forwarder = new PortForwarder({ open: async () => new LocalChannel() });
    forwarders.push(forwarder);
    await expect(forwarder.start([{ name: 'web', host: '127.0.0.1', port: web }], { web })).rejects.toThrow(
      `local port ${web} is already in use`,
    );
  });
});
