import { spawnSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import { BIN, runCli } from './run-cli.js';

const temp = (prefix: string) => mkdtempSync(join(tmpdir(), prefix));
const BIN_DIR = fileURLToPath(new URL('../bin/', import.meta.url));
const BUNDLE_DIR = fileURLToPath(new URL('../bundle/', import.meta.url));

/**
 * The files a run of the bin loaded as ES modules, from Node's own debug log (NODE_DEBUG=esm prints
 * "Translating StandardModule <url>" for each one).
 */
function loadedModules(args: string[], env: Record<string, string>): { code: number; files: string[] } {
  const result = spawnSync(process.execPath, [BIN, ...args], {
    env: { ...process.env, ...env, NODE_DEBUG: 'esm' },
    encoding: 'utf8',
  });
  const files = [...result.stderr.matchAll(/Translating StandardModule (file:\S+)/g)].map((m) =>
    fileURLToPath(m[1] as string),
  );
  // Guards against a Node whose debug log reads differently: the bin itself is always loaded.
  expect(files, `no module list in NODE_DEBUG=esm output:\n${result.stderr.slice(0, 2000)}`).toContain(BIN);
  return { code: result.status ?? -1, files };
}

describe('the bin runs the bundle', () => {
  test('--version and list --json load only the bin and bundle chunks', () => {
    const env = { SANDBOXER_HOME: temp('sbx-cli-home-') };
    for (const args of [['--version'], ['list', '--json']]) {
      const { code, files } = loadedModules(args, env);
      expect(code).toBe(0);
      expect(files.filter((f) => !f.startsWith(BIN_DIR) && !f.startsWith(BUNDLE_DIR))).toEqual([]);
    }
    expect(runCli(['list', '--json'], env)).toMatchObject({ code: 0, stdout: '[]\n' });
  });

  test('list and status load the state reader, not the manager, the declarations or the state locking', () => {
    const env = { SANDBOXER_HOME: temp('sbx-cli-home-') };
    for (const args of [['list'], ['status', 'aaaaaaaaaaaa']]) {
      const { files } = loadedModules(args, env);
      // esbuild marks where each input file starts in a chunk with a comment naming the file.
      const inputs = files.flatMap((f) =>
        [...readFileSync(f, 'utf8').matchAll(/^\/\/ (\S+\.js)$/gm)].map((m) => m[1]),
      );
      expect(inputs).toContain('../core/dist/state/record-files.js');
      for (const heavy of [
        'core/dist/manager/manager.js',
        'core/dist/declarations/catalog.js',
        'proper-lockfile',
        '/yaml/',
      ]) {
        expect(inputs.filter((i) => i?.includes(heavy))).toEqual([]);
      }
    }
  });

  test('a command that reaches a host loads node-ssh, which the bundle leaves to node_modules', async () => {
    // A port on this machine that nobody listens on: the connection is refused at once.
    const port = await new Promise<number>((resolve) => {
      const server = createServer().listen(0, '127.0.0.1', () => {
        const address = server.address();
        server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
      });
    });
    const home = temp('sbx-cli-home-');
    const key = join(home, 'key');
    const { privateKey } = generateKeyPairSync('ec', {
      namedCurve: 'prime256v1',
      privateKeyEncoding: { type: 'sec1', format: 'pem' },
      publicKeyEncoding: { type: 'spki', format: 'pem' },
    });
    writeFileSync(key, privateKey, { mode: 0o600 });
    const target = {
      name: 'box',
      ssh: { address: '127.0.0.1', port, user: 'ci', identity_file: key, insecure_ignore_host_key: true },
    };
    const now = new Date().toISOString();
    const record = {
      id: 'abcdefabcdef',
      state: 'ready',
      profile: 'profile.compose-e2e',
      extension: 'ext.compose-ssh',
      host: 'box',
      consumer: 'test',
      created_at: now,
      updated_at: now,
      expires_at: now,
      ttl_seconds: 60,
      target,
      handle: {
        sandbox_id: 'abcdefabcdef',
        host: 'box',
        target,
        remote_dir: '/tmp/x',
        compose_project: 'sbx-x',
      },
    };
    const file = join(home, 'record.json');
    writeFileSync(file, JSON.stringify(record));
    const result = runCli(['destroy', record.id, '--record', file, '--json'], { SANDBOXER_HOME: home });
    // Reaching "connection refused" means ssh2 was loaded and tried; a missing module would say so.
    expect(JSON.parse(result.stdout)).toMatchObject({
      error: { code: 'TEARDOWN_FAILED', message: expect.stringContaining('connection refused') },
    });
  });
});
