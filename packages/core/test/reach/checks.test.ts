import type { Server } from 'node:net';
import { afterEach, describe, expect, test } from 'vitest';
import { InputError, ProvisionError } from '../../src/errors.js';
import { parseCheck, waitForChecks } from '../../src/reach/checks.js';
import { LocalChannel, recordWith, tinyHttp } from './support.js';

const servers: Server[] = [];
afterEach(() => {
  for (const server of servers.splice(0)) server.close();
});

async function serve(status: number) {
  const { server, port } = await tinyHttp(status);
  servers.push(server);
  return port;
}

describe('parseCheck', () => {
  test.each([
    ['http://web:8080/health', { kind: 'http', target: 'web:8080', path: '/health' }],
    ['http://web:8080', { kind: 'http', target: 'web:8080', path: '/' }],
    ['tcp://db:5432', { kind: 'tcp', target: 'db:5432' }],
  ])('%s', (text, expected) => {
    expect(parseCheck(text)).toEqual({ text, ...expected });
  });

  test('log://service/pattern/ is a regular expression over the log', () => {
    const check = parseCheck('log://worker/ready to (accept|serve)/');
    expect(check.kind).toBe('log');
    if (check.kind === 'log') {
      expect(check.service).toBe('worker');
      expect(check.pattern.test('x ready to serve y')).toBe(true);
    }
  });

  test.each([
    'ftp://web:21',
    'http://',
    'tcp://db:5432/x',
    'log://worker/unterminated',
    'log://w/(/',
    'web:8080',
  ])('%j is an InputError on wait_for that shows the three forms', (text) => {
    const error = (() => {
      try {
        parseCheck(text);
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(InputError);
    expect((error as InputError).details.field).toBe('wait_for');
  });
});

describe('waitForChecks, through a channel to the host', () => {
  test('passes once every check passes, through one channel', async () => {
    const web = await serve(204);
    const db = await serve(200);
    const record = recordWith({ 'web:8080': `127.0.0.1:${web}`, 'db:5432': `127.0.0.1:${db}` });
    const channel = new LocalChannel();
    let opened = 0;
    await waitForChecks(
      record,
      ['http://web:8080/health', 'tcp://db:5432', 'log://worker/ready/'].map(parseCheck),
      {
        channel: async () => {
          opened += 1;
          return channel;
        },
        log: async () => 'booting\nready to accept\n',
      },
      { timeoutSeconds: 5 },
    );
    expect(channel.connects.map((c) => c.port)).toEqual([web, db]);
    expect(opened).toBe(2);
  });

  test('an HTTP check that never answers 2xx fails at the timeout with its last error, not the others', async () => {
    const web = await serve(503);
    const db = await serve(200);
    const record = recordWith({ 'web:8080': `127.0.0.1:${web}`, 'db:5432': `127.0.0.1:${db}` });
    const progress: string[] = [];
    const failing = waitForChecks(
      record,
      ['http://web:8080/health', 'tcp://db:5432'].map(parseCheck),
      { channel: async () => new LocalChannel(), log: async () => '' },
      { timeoutSeconds: 1, progress: (m) => progress.push(m) },
    );
    await expect(failing).rejects.toThrow(ProvisionError);
    await expect(failing).rejects.toThrow(/after 1 s: http:\/\/web:8080\/health: HTTP 503$/);
    expect(progress).toEqual(['waiting for http://web:8080/health']);
  });

  test('a refused connection and a missing log line are reported as such', async () => {
    const closed = await serve(200);
    servers.pop()?.close();
    const record = recordWith({ 'db:5432': `127.0.0.1:${closed}` });
    await expect(
      waitForChecks(
        record,
        ['tcp://db:5432', 'log://worker/ready/'].map(parseCheck),
        { channel: async () => new LocalChannel(), log: async () => 'still booting' },
        { timeoutSeconds: 0.5 },
      ),
    ).rejects.toThrow(
      /tcp:\/\/db:5432: .*ECONNREFUSED.*; log:\/\/worker\/ready\/: no line matches \/ready\/ yet/,
    );
  });

  test('a check on a port the sandbox does not publish fails at once, not at the timeout', async () => {
    const started = Date.now();
    await expect(
      waitForChecks(
        recordWith({ 'web:8080': '127.0.0.1:1' }),
        [parseCheck('tcp://worker:9000')],
        { channel: async () => new LocalChannel(), log: async () => '' },
        { timeoutSeconds: 60 },
      ),
    ).rejects.toThrow(/readiness check tcp:\/\/worker:9000: "worker:9000" is not a published port/);
    expect(Date.now() - started).toBeLessThan(5000);
  });
});
