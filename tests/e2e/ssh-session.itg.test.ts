import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { type AddressInfo, connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { afterAll, describe, expect, test } from 'vitest';
import { InputError, RemoteCommandError, SshError } from '../../packages/core/src/errors.js';
import type { SshTarget } from '../../packages/core/src/records/host-target.js';
import { command } from '../../packages/core/src/ssh/quote.js';
import {
  type SessionOptions,
  SshSession,
  sshStats,
  withSession,
} from '../../packages/core/src/ssh/session.js';
import { loadTestbed, parseEnvFile, requireTestbed } from './support/testbed.js';

const tb = await requireTestbed();
const KEY_TEXT = readFileSync(tb.key, 'utf8');
const WRONG_KEY_TEXT = readFileSync(tb.wrongKey, 'utf8');
const scratch = mkdtempSync(join(tmpdir(), 'sbx-ssh-itg-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** Every error these tests provoke, checked at the end for leaked key material. */
const seen: unknown[] = [];

function target(address: string, extra: Partial<SshTarget> = {}): SshTarget {
  return {
    address,
    port: tb.port,
    user: tb.user,
    identity_file: tb.key,
    known_hosts: tb.knownHosts,
    ...extra,
  };
}

/** The host key fingerprint as OpenSSH itself reads it from the testbed's known_hosts. */
function hostFingerprint(address: string): string {
  const out = execFileSync('ssh-keygen', ['-l', '-F', `[${address}]:${tb.port}`, '-f', tb.knownHosts], {
    encoding: 'utf8',
  });
  const fingerprint = /(SHA256:[A-Za-z0-9+/]{43})/.exec(out)?.[1];
  if (!fingerprint) throw new Error(`no fingerprint for ${address} in ${tb.knownHosts}: ${out}`);
  return fingerprint;
}

/** Opens a session expecting failure; returns the error (and records it for the leak check). */
async function openFailure(t: SshTarget, options: SessionOptions = {}): Promise<Error> {
  const error = await SshSession.open(t, { connectTimeoutMs: 5000, ...options }).then(
    (session) => {
      session.close();
      return new Error('expected the connection to fail');
    },
    (e: Error) => e,
  );
  seen.push(error);
  return error;
}

async function rejection(promise: Promise<unknown>): Promise<Error> {
  const error = await promise.then(
    () => new Error('expected a rejection'),
    (e: Error) => e,
  );
  seen.push(error);
  return error;
}

const HOSTS = [tb.host1, tb.host2];

describe.each(HOSTS)('a session to %s', (host) => {
  test('connects and runs a command', async () => {
    const out = await withSession(target(host), {}, (session) => {
      expect(session.destination).toBe(`${tb.user}@${host}:${tb.port}`);
      return session.run('echo ok');
    });
    expect(out).toBe('ok\n');
  });

  test('reuses one connection for 15 sequential commands', async () => {
    const before = sshStats.connections;
    await withSession(target(host), {}, async (session) => {
      for (let i = 1; i <= 15; i += 1) {
        expect(await session.run(`echo ${i}`)).toBe(`${i}\n`);
      }
      expect(await session.home()).toBe('/home/sbxtest');
      expect(await session.home()).toBe('/home/sbxtest');
    });
    expect(sshStats.connections - before).toBe(1);
  });
});

describe('commands', () => {
  test('several commands at once share the connection', async () => {
    const before = sshStats.connections;
    const outs = await withSession(target(tb.host1), {}, (session) =>
      Promise.all([1, 2, 3, 4, 5].map((i) => session.run(`sleep 0.2; echo ${i}`))),
    );
    expect(outs).toEqual(['1\n', '2\n', '3\n', '4\n', '5\n']);
    expect(sshStats.connections - before).toBe(1);
  });

  test('exec resolves with the exit code, stdout and stderr; run turns a failure into RemoteCommandError', async () => {
    await withSession(target(tb.host1), {}, async (session) => {
      const script = 'echo out; echo err >&2; exit 3';
      expect(await session.exec(script)).toEqual({
        code: 3,
        stdout: 'out\n',
        stderr: 'err\n',
        timedOut: false,
      });
      const error = await rejection(session.run(script, { what: 'compose up' }));
      expect(error).toBeInstanceOf(RemoteCommandError);
      expect((error as RemoteCommandError).exitCode).toBe(3);
      expect(error.message).toBe(`compose up on ${tb.user}@${tb.host1}:${tb.port} failed (exit 3):\nerr`);
    });
  });

  test("a failure's message carries the last 20 lines of stderr, else of stdout", async () => {
    await withSession(target(tb.host1), {}, async (session) => {
      const noisy = await rejection(session.run('for i in $(seq 1 30); do echo line$i >&2; done; exit 1'));
      const tail = Array.from({ length: 20 }, (_, i) => `line${i + 11}`).join('\n');
      expect(noisy.message).toBe(`remote command on ${session.destination} failed (exit 1):\n${tail}`);
      const quiet = await rejection(session.run('echo only-stdout; exit 2'));
      expect(quiet.message).toBe(`remote command on ${session.destination} failed (exit 2):\nonly-stdout`);
      const silent = await rejection(session.run('exit 4'));
      expect(silent.message).toBe(`remote command on ${session.destination} failed (exit 4)`);
    });
  });

  test('stdin is passed and stdout is streamed to onStdout', async () => {
    await withSession(target(tb.host2), {}, async (session) => {
      const chunks: Buffer[] = [];
      const out = await session.run('cat; printf done', {
        stdin: 'hello\nworld\n',
        onStdout: (c) => chunks.push(c),
      });
      expect(out).toBe('hello\nworld\ndone');
      expect(Buffer.concat(chunks).toString('utf8')).toBe(out);
    });
  });

  test('quoted hostile arguments reach the remote shell intact, and run nothing', async () => {
    const marker = `/tmp/sbx-pwned-${randomBytes(6).toString('hex')}`;
    const values = [
      `$(touch ${marker})`,
      `\`touch ${marker}\``,
      `; touch ${marker}`,
      `a\ntouch ${marker}\nb`,
      `'; touch ${marker}; '`,
      `"$(touch ${marker})"`,
      '*',
      '~',
      '$HOME',
      '-rf',
      '',
      'héllo wörld ✓',
      'a\\b',
    ];
    await withSession(target(tb.host1), {}, async (session) => {
      for (const value of values) {
        expect(await session.run(command('printf', '%s', value))).toBe(value);
      }
      const all = await session.run(command('printf', '%s\\n', ...values));
      expect(all).toBe(values.map((v) => `${v}\n`).join(''));
      expect((await session.exec(command('test', '-e', marker))).code).toBe(1);
    });
  });

  test('a command that outlives timeoutMs is a RemoteCommandError, and the session still works', async () => {
    await withSession(target(tb.host1), {}, async (session) => {
      const result = await session.exec('sleep 2; echo late', { timeoutMs: 500 });
      expect(result.timedOut).toBe(true);
      expect(result.code).toBeNull();
      const error = await rejection(session.run('sleep 5', { timeoutMs: 500, what: 'sleeping' }));
      expect(error).toBeInstanceOf(RemoteCommandError);
      expect((error as RemoteCommandError).exitCode).toBeNull();
      expect(error.message).toMatch(
        new RegExp(`^sleeping on ${session.destination} timed out after 0\\.5 s$`),
      );
      expect(await session.run('echo still-here')).toBe('still-here\n');
    });
  });

  test('the default command timeout comes from the session options', async () => {
    await withSession(target(tb.host1), { commandTimeoutMs: 300 }, async (session) => {
      expect((await session.exec('sleep 1')).timedOut).toBe(true);
    });
  });

  test('a timed-out command returns soon after timeoutMs, not when the command ends', async () => {
    await withSession(target(tb.host1), {}, async (session) => {
      const started = Date.now();
      await session.exec('sleep 6', { timeoutMs: 500 });
      expect(Date.now() - started).toBeLessThan(3000);
    });
  });

  test('output beyond maxOutputBytes keeps only the tail', async () => {
    await withSession(target(tb.host1), {}, async (session) => {
      let streamed = 0;
      const result = await session.exec('yes | head -c 5000000', {
        maxOutputBytes: 1000,
        onStdout: (chunk) => {
          streamed += chunk.length;
        },
      });
      expect(result.code).toBe(0);
      expect(streamed).toBe(5_000_000);
      expect(result.stdout.startsWith('…')).toBe(true);
      expect(result.stdout.length).toBeLessThanOrEqual(1001);
      expect(result.stdout.slice(1)).toMatch(/^(y\n)*y?\n?$/);
      expect(result.stdout.endsWith('y\n')).toBe(true);
    });
  });

  test('the tail is the last maxOutputBytes bytes even when the last chunk is small', async () => {
    await withSession(target(tb.host1), {}, async (session) => {
      const result = await session.exec('seq 1 100000; sleep 0.3; printf end', { maxOutputBytes: 1000 });
      const full = execFileSync('sh', ['-c', 'seq 1 100000; printf end'], { encoding: 'utf8' });
      expect(result.stdout).toBe(`…${full.slice(-1000)}`);
    });
  });

  test('a large output does not grow the heap by its size', async () => {
    await withSession(target(tb.host1), {}, async (session) => {
      const base = process.memoryUsage().heapUsed;
      let peak = 0;
      await session.exec('yes | head -c 50000000', {
        maxOutputBytes: 1000,
        onStdout: () => {
          peak = Math.max(peak, process.memoryUsage().heapUsed - base);
        },
      });
      expect(peak).toBeLessThan(30_000_000);
    });
  });

  test('a closed session refuses commands with SshError (phase session)', async () => {
    let kept: SshSession | undefined;
    const thrown = await rejection(
      withSession(target(tb.host1), {}, async (session) => {
        kept = session;
        throw new Error('fn failed');
      }),
    );
    expect(thrown.message).toBe('fn failed');
    const error = await rejection((kept as SshSession).exec('echo hi', { what: 'mkdir' }));
    expect(error).toBeInstanceOf(SshError);
    expect((error as SshError).phase).toBe('session');
    expect(error.message).toMatch(
      new RegExp(`^lost the SSH connection to ${tb.user}@${tb.host1}:${tb.port} during mkdir: `),
    );
  });
});

describe('connection failures say what went wrong', () => {
  test('connection refused', async () => {
    const error = await openFailure(target('127.0.0.9'), { connectTimeoutMs: 2000 });
    expect(error).toBeInstanceOf(SshError);
    expect((error as SshError).phase).toBe('connect');
    expect((error as SshError).details).toEqual({ host: '127.0.0.9:2222', phase: 'connect' });
    expect(error.message).toBe(
      'cannot reach 127.0.0.9:2222: connection refused (is sshd running on that port?)',
    );
  });

  test.each(HOSTS)('a key the host does not accept (%s)', async (host) => {
    const error = await openFailure(target(host, { identity_file: tb.wrongKey }));
    expect(error).toBeInstanceOf(SshError);
    expect(error.message).toBe(
      `${tb.user}@${host}:${tb.port} refused the SSH key (permission denied); check the key and the user's authorized_keys`,
    );
  });

  test('a host key that does not match known_hosts names the file and the key it got', async () => {
    const error = await openFailure(target(tb.host1, { known_hosts: tb.knownHostsBad }));
    expect(error).toBeInstanceOf(SshError);
    expect(error.message).toBe(
      `host key of ${tb.host1}:${tb.port} does not match ${tb.knownHostsBad}: got ${hostFingerprint(tb.host1)}; if the host was rebuilt, update that file`,
    );
    // known_hosts.bad has the right key for the second host.
    await withSession(target(tb.host2, { known_hosts: tb.knownHostsBad }), {}, async (session) => {
      expect(await session.run('echo ok')).toBe('ok\n');
    });
  });

  test.each([
    ['an empty known_hosts', ''],
    ['a known_hosts listing only the other host', 'other'],
  ])('a host missing from %s suggests ssh-keyscan', async (_name, content) => {
    const path = join(scratch, `known_hosts_${content || 'empty'}`);
    const other = readFileSync(tb.knownHosts, 'utf8')
      .split('\n')
      .filter((line) => line.startsWith(`[${tb.host2}]`))
      .join('\n');
    writeFileSync(path, content ? `${other}\n` : '');
    const error = await openFailure(target(tb.host1, { known_hosts: path }));
    expect(error).toBeInstanceOf(SshError);
    expect(error.message).toBe(
      `host ${tb.host1}:${tb.port} is not listed in ${path} (add it with: ssh-keyscan -p ${tb.port} ${tb.host1} >> ${path})`,
    );
  });

  test.each(HOSTS)(
    'a pinned fingerprint: the right one connects to %s, a wrong one does not',
    async (host) => {
      const right = hostFingerprint(host);
      const other = hostFingerprint(host === tb.host1 ? tb.host2 : tb.host1);
      const pinned = (fingerprint: string) => target(host, { known_hosts: undefined, fingerprint });
      await withSession(pinned(right), {}, async (session) => {
        expect(await session.run('echo ok')).toBe('ok\n');
      });
      const error = await openFailure(pinned(other));
      expect(error).toBeInstanceOf(SshError);
      expect(error.message).toBe(
        `host key of ${host}:${tb.port} does not match the pinned fingerprint: expected ${other}, got ${right}`,
      );
    },
  );

  test('insecure mode connects without known_hosts and warns once', async () => {
    const warnings: string[] = [];
    const insecure = target(tb.host2, { known_hosts: undefined, insecure_ignore_host_key: true });
    await withSession(insecure, { warn: (m) => warnings.push(m) }, async (session) => {
      expect(await session.run('echo ok')).toBe('ok\n');
    });
    expect(warnings).toEqual([
      `WARNING: not verifying the host key of ${tb.host2}:${tb.port} (insecure_ignore_host_key); anyone on the path could impersonate it`,
    ]);
    // Even with a known_hosts that lists a wrong key: the opt-out really skips verification.
    await withSession({ ...insecure, known_hosts: tb.knownHostsBad }, {}, async (session) => {
      expect(await session.run('echo ok')).toBe('ok\n');
    });
  });

  test.each(HOSTS)('the key can be given as text (%s)', async (host) => {
    const noFile = target(host, { identity_file: undefined });
    await withSession(noFile, { keyText: KEY_TEXT }, async (session) => {
      expect(await session.run('echo ok')).toBe('ok\n');
    });
    // keyText wins over identity_file.
    const error = await openFailure(target(host), { keyText: WRONG_KEY_TEXT });
    expect(error.message).toMatch(/refused the SSH key \(permission denied\)/);
  });

  const unusable = async (keyText: string) => {
    const error = await openFailure(target(tb.host1, { identity_file: undefined }), { keyText });
    expect(error).toBeInstanceOf(SshError);
    expect(error.message).toMatch(
      new RegExp(`^the SSH key for ${tb.user}@${tb.host1}:${tb.port} is not a usable private key \\(.+\\)$`),
    );
  };

  test.each([
    ['not a key', 'not a key at all'],
    ['a truncated key', KEY_TEXT.slice(0, 200)],
  ])('key text that is %s cannot be used', async (_name, keyText) => {
    await unusable(keyText);
  });

  test('a passphrase-protected key is refused as such (never prompted for)', async () => {
    const path = join(scratch, 'encrypted_key');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', 'a passphrase', '-f', path]);
    const error = await openFailure(target(tb.host1, { identity_file: path }));
    expect(error).toBeInstanceOf(SshError);
    expect(error.message).toBe(
      `the SSH key for ${tb.user}@${tb.host1}:${tb.port} is passphrase-protected, which is not supported: use a key without a passphrase`,
    );
  });

  test('key text that is a public key cannot be used', async () => {
    await unusable(readFileSync(`${tb.key}.pub`, 'utf8'));
  });

  test.each([
    [
      'a missing key file',
      () => target(tb.host1, { identity_file: join(scratch, 'nope') }),
      `cannot read SSH key file ${join(scratch, 'nope')}: ENOENT`,
    ],
    [
      'no key at all',
      () => target(tb.host1, { identity_file: undefined }),
      `no SSH key for ${tb.user}@${tb.host1}:${tb.port}: give one (an identity file, identity_file in the hosts file, or the key itself)`,
    ],
    [
      'a missing known_hosts file',
      () => target(tb.host1, { known_hosts: join(scratch, 'nope_known_hosts') }),
      `cannot read known_hosts file ${join(scratch, 'nope_known_hosts')}: ENOENT`,
    ],
    [
      'no way to verify the host key',
      () => target(tb.host1, { known_hosts: undefined }),
      `no way to verify the host key of ${tb.host1}:${tb.port}: give a known_hosts file or a pinned fingerprint (or, knowingly, turn verification off)`,
    ],
  ])('%s is an InputError before any connection', async (_name, make, message) => {
    const before = sshStats.connections;
    const error = await openFailure(make());
    expect(error).toBeInstanceOf(InputError);
    expect(error.message).toBe(message);
    expect(sshStats.connections).toBe(before);
  });
});

describe('many sessions to one host at once', () => {
  // sshd's MaxStartups drops connections that have not authenticated yet beyond 10 (at random from
  // there): 16 sessions opened at once by one process (a server) lost some "before handshake".
  test('16 sessions opened at once all connect (handshakes queued per host, a dropped one retried)', async () => {
    const before = sshStats.connections;
    const sessions = await Promise.all(Array.from({ length: 16 }, () => SshSession.open(target(tb.host1))));
    try {
      const outputs = await Promise.all(sessions.map((s) => s.run('echo ok')));
      expect(outputs).toEqual(Array(16).fill('ok\n'));
    } finally {
      for (const s of sessions) s.close();
    }
    expect(sshStats.connections - before).toBeGreaterThanOrEqual(16);
  });

  test('a connection dropped before its handshake is tried again', async () => {
    // A proxy that drops the first connection at once (as sshd over MaxStartups does), then forwards.
    let dropped = 0;
    const proxy = createServer((client) => {
      if (dropped === 0) {
        dropped += 1;
        client.destroy();
        return;
      }
      const upstream = connect(tb.port, tb.host1);
      client.pipe(upstream).pipe(client);
      const close = () => {
        client.destroy();
        upstream.destroy();
      };
      client.on('error', close);
      upstream.on('error', close);
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    const port = (proxy.address() as AddressInfo).port;
    try {
      const session = await SshSession.open(
        target('127.0.0.1', { port, known_hosts: undefined, fingerprint: hostFingerprint(tb.host1) }),
      );
      try {
        expect(await session.run('echo ok')).toBe('ok\n');
      } finally {
        session.close();
      }
      expect(dropped).toBe(1);
    } finally {
      proxy.close();
    }
  });
});

describe('secrets', () => {
  test('no error raised above carries private key text, in its message, details or cause', () => {
    expect(seen.length).toBeGreaterThan(0);
    const secrets = [KEY_TEXT, WRONG_KEY_TEXT].flatMap((text) =>
      text
        .split('\n')
        .filter((line) => line.length > 20 && !line.startsWith('-----'))
        .map((line) => line.slice(0, 24)),
    );
    expect(secrets.length).toBeGreaterThan(2);
    for (const error of seen) {
      const texts = [
        (error as Error).message,
        JSON.stringify(error),
        inspect(error, { depth: 10, showHidden: true }),
      ];
      for (const text of texts) {
        for (const secret of secrets) expect(text).not.toContain(secret);
        expect(text).not.toContain('PRIVATE KEY');
      }
    }
  });
});

describe('the testbed helper', () => {
  test('parses env.sh values bare, single- and double-quoted', () => {
    expect(
      parseEnvFile(
        `# comment\nexport A='x y'\nexport B="q \\"r\\""\nC=plain\nexport D='it'\\''s'\nexport E=\n`,
      ),
    ).toEqual({ A: 'x y', B: 'q "r"', C: 'plain', D: "it's", E: '' });
  });

  test('says how to bring the testbed up when env.sh is missing', () => {
    expect(() => loadTestbed({ SANDBOXER_TESTBED_DIR: scratch })).toThrow(
      `the e2e testbed is not up (${join(scratch, 'env.sh')} is missing): run \`sudo bash tests/testbed/up.sh\` first`,
    );
  });
});
