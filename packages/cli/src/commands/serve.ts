import { resolve } from 'node:path';
import { type ContextOptions, openManager } from '../context.js';

export interface ServeOptions extends ContextOptions {
  host: string;
  port: string;
  tokenFile?: string;
  grace: string;
  repoRoot?: string;
  quiet?: boolean;
}

/**
 * `sandboxer serve`: the same manager over HTTP until SIGINT/SIGTERM, then a graceful stop:
 * in-flight operations get `--grace` seconds to finish, the rest are interrupted (and roll back).
 */
export async function serve(options: ServeOptions): Promise<void> {
  const { loadTokens, startServer } = await import('@sand-boxer/server');
  const { InputError } = await import('@sand-boxer/core');
  const port = Number(options.port);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new InputError(`--port: expected a port number, got ${JSON.stringify(options.port)}`);
  }
  const grace = Number(options.grace);
  if (!Number.isFinite(grace) || grace < 0) {
    throw new InputError(`--grace: expected a number of seconds ≥ 0, got ${JSON.stringify(options.grace)}`);
  }
  const repoRoot = options.repoRoot ? resolve(options.repoRoot) : process.cwd();
  const log = options.quiet
    ? undefined
    : (line: string) => process.stderr.write(`${new Date().toISOString()} ${line}\n`);
  const server = await startServer({
    // A client of the server is confined: repos inside the repo root, hosts by hosts-file alias only.
    manager: openManager(options, { baseDir: repoRoot, confined: true }),
    host: options.host,
    port,
    tokens: loadTokens(options.tokenFile),
    log,
  });
  process.stderr.write(
    `sandboxer: serving on ${server.url} (OpenAPI at ${server.url}/openapi.json; repos under ${repoRoot})\n`,
  );
  await new Promise<void>((resolve) => {
    let stopping = false;
    const stop = async (signal: NodeJS.Signals) => {
      if (stopping) process.exit(130);
      stopping = true;
      process.stderr.write(
        `sandboxer: ${signal}: finishing in-flight work (up to ${grace} s; again to exit at once)\n`,
      );
      const { finished, interrupted } = await server.close(grace * 1000);
      process.stderr.write(
        `sandboxer: stopped (${finished} operations finished, ${interrupted} interrupted)\n`,
      );
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}
