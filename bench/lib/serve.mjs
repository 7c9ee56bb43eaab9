// Starts `sandboxer serve` on a free loopback port for a benchmark, and stops it.
import { spawn } from 'node:child_process';
import { join } from 'node:path';

const CLI = join(import.meta.dirname, '..', '..', 'packages', 'cli', 'bin', 'sandboxer.js');

/**
 * `sandboxer serve --port 0 --quiet [...args]` with `env`; resolves once it says where it listens.
 * @returns {Promise<{ url: string, pid: number, stop: () => Promise<void> }>}
 */
export async function startServe(env, args = [], cwd = undefined) {
  const server = spawn(process.execPath, [CLI, 'serve', '--port', '0', '--quiet', ...args], {
    env,
    cwd,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const stop = async () => {
    server.kill('SIGTERM');
    await new Promise((resolve) => (server.exitCode === null ? server.once('exit', resolve) : resolve()));
  };
  try {
    const url = await new Promise((resolve, reject) => {
      let text = '';
      server.stderr.on('data', (d) => {
        text += d;
        const match = /serving on (http:\/\/\S+) /.exec(text);
        if (match) resolve(match[1]);
      });
      server.once('exit', (code) => reject(new Error(`serve exited ${code}: ${text}`)));
    });
    return { url, pid: server.pid, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
