import type { Server } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, test } from 'vitest';
import { UnsupportedError } from '../../src/errors.js';
import type { SandboxChannel } from '../../src/extensions/contract.js';
import { type KeeperHost, keep } from '../../src/reach/keep.js';
import type { Keeper, SandboxRecord } from '../../src/records/sandbox.js';
import { fetchText, LocalChannel, recordWith, tinyHttp } from './support.js';

const servers: Server[] = [];
afterEach(() => {
  for (const server of servers.splice(0)) server.close();
});

/** A manager stand-in holding one record that the test can change. */
function hostOf(
  record: SandboxRecord,
): KeeperHost & { record: SandboxRecord; renewals: number; renew: () => Promise<boolean> } {
  const host = {
    record,
    renewals: 0,
    /** What a renewal does (the test may make it fail or say gone). */
    renew: async () => true,
    get: async () => host.record,
    openChannel: async () => new LocalChannel(),
    renewLease: async () => {
      host.renewals += 1;
      return host.renew();
    },
    setKeeper: async (_id: string, keeper: Keeper | undefined) => {
      host.record = { ...host.record, ...(keeper ? { keeper } : {}) };
      return host.record;
    },
  };
  return host;
}

describe('keep: forwards while the sandbox lives', () => {
  test('a detached keeper records itself (pid, machine, URLs); it stops once the sandbox is destroyed', async () => {
    const { server, port } = await tinyHttp(200, 'web');
    servers.push(server);
    const host = hostOf(recordWith({ 'web:8080': `127.0.0.1:${port}` }));
    const keeping = await keep(host, host.record.id, { names: [], record: true, pollMs: 20 });
    expect(host.record.keeper).toEqual(expect.objectContaining({ pid: process.pid, forwards: keeping.urls }));
    expect(await fetchText(keeping.urls['web:8080'] as string)).toMatch(/web$/);
    host.record = { ...host.record, state: 'destroyed' };
    await keeping.done;
    await expect(fetchText(keeping.urls['web:8080'] as string)).rejects.toThrow(/ECONNREFUSED/);
  });

  test('past its expiry it stops too', async () => {
    const { server, port } = await tinyHttp(200);
    servers.push(server);
    const host = hostOf({
      ...recordWith({ 'web:8080': `127.0.0.1:${port}` }),
      expires_at: new Date(Date.now() + 100).toISOString(),
    });
    const log: string[] = [];
    const keeping = await keep(host, host.record.id, {
      names: ['web:8080'],
      pollMs: 20,
      log: (m) => log.push(m),
    });
    await keeping.done;
    expect(log.at(-1)).toMatch(/is ready \(expired\): stopping$/);
  });

  test('one --local port goes with the only target; with several it must be named', async () => {
    const host = hostOf(recordWith({ 'web:8080': '127.0.0.1:1', 'db:5432': '127.0.0.1:2' }));
    await expect(keep(host, host.record.id, { names: [], locals: { '*': 18_999 } })).rejects.toThrow(
      /publishes 2 ports; name the one local port 18999 is for/,
    );
    const single = hostOf(recordWith({ 'web:8080': '127.0.0.1:1' }));
    const keeping = await keep(single, single.record.id, { names: [], locals: { '*': 0 } });
    expect(Object.keys(keeping.urls)).toEqual(['web:8080']);
    keeping.stop();
    await keeping.done;
  });
});

describe('keep: the lease', () => {
  test('renewed every lease/4 without forwarding; failures are retried; "gone" stops the keeper', async () => {
    const host = hostOf({ ...recordWith({}), lease_seconds: 0.2 } as SandboxRecord);
    const log: string[] = [];
    let fail = 2;
    host.renew = async () => {
      if (fail-- > 0) throw new Error('connection reset');
      return host.renewals < 6;
    };
    const keeping = await keep(host, host.record.id, {
      names: [],
      noForwards: true,
      lease: 'required',
      pollMs: 10_000,
      log: (m) => log.push(m),
    });
    expect(keeping.urls).toEqual({});
    await keeping.done;
    expect(host.renewals).toBe(6);
    expect(log).toEqual([
      'lease: renewal failed (connection reset); retrying',
      'lease: renewed again',
      'lease: the sandbox is gone where its lease is kept; stopping',
    ]);
  });

  test('a sandbox without a lease has none to keep', async () => {
    const host = hostOf(recordWith({}));
    await expect(
      keep(host, host.record.id, { names: [], noForwards: true, lease: 'required' }),
    ).rejects.toThrow(/has no lease to keep \(it was created without --lease\)/);
  });

  test('forwards and renewals share one connection, reopened once when it drops', async () => {
    const { server, port } = await tinyHttp(200, 'web');
    servers.push(server);
    const host = hostOf({ ...recordWith({ 'web:8080': `127.0.0.1:${port}` }), lease_seconds: 0.2 });
    const opened: LocalChannel[] = [];
    const over: Array<SandboxChannel | undefined> = [];
    host.openChannel = async () => {
      const channel = new LocalChannel();
      opened.push(channel);
      return channel;
    };
    const renewLease = host.renewLease;
    host.renewLease = async (id, channel) => {
      over.push(channel);
      return renewLease(id);
    };
    const keeping = await keep(host, host.record.id, { names: [], lease: 'if-any', pollMs: 10_000 });
    expect(await fetchText(keeping.urls['web:8080'] as string)).toMatch(/web$/);
    while (over.length < 3) await sleep(10);
    expect(opened).toHaveLength(1);
    expect(over.every((c) => c === opened[0])).toBe(true);
    opened[0]?.drop();
    const before = over.length;
    while (over.length < before + 3) await sleep(10);
    expect(opened).toHaveLength(2);
    expect(over.slice(-2).every((c) => c === opened[1])).toBe(true);
    keeping.stop();
    await keeping.done;
  });

  test('a backend that offers no connection renews the manager way (no channel)', async () => {
    const host = hostOf({ ...recordWith({}), lease_seconds: 0.2 });
    host.openChannel = async () => {
      throw new UnsupportedError("ext.saas-stub cannot reach a sandbox's ports");
    };
    const over: Array<SandboxChannel | undefined> = [];
    const renewLease = host.renewLease;
    host.renewLease = async (id, channel) => {
      over.push(channel);
      return renewLease(id);
    };
    const keeping = await keep(host, host.record.id, { names: [], noForwards: true, lease: 'required' });
    while (over.length < 3) await sleep(10);
    expect(over.every((c) => c === undefined)).toBe(true);
    keeping.stop();
    await keeping.done;
  });
});
