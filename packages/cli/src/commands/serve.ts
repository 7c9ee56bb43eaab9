import { resolve } from 'node:path';
import { type ContextOptions, openManager } from '../context.js';

export interface ServeOptions extends ContextOptions {
  host: string;
  port: string;
  tokenFile?: string;
  authFile?: string;
  reapInterval: string;
  grace: string;
  repoRoot?: string;
  quiet?: boolean;
  bodyLimit: string;
}

/**
 * `sandboxer serve`: the same manager over HTTP until SIGINT/SIGTERM, then a graceful stop:
 * in-flight operations get `--grace` seconds to finish, the rest are interrupted (and roll back).
 */
export async function serve(options: ServeOptions): Promise<void> {
  const { loadAuthFile, loadTokens, oidcVerifier, startServer } = await import('@sand-boxer/server');
  const { defaultHome, InputError, parseSizeBytes } = await import('@sand-boxer/core');
  const port = Number(options.port);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new InputError(`--port: expected a port number, got ${JSON.stringify(options.port)}`);
  }
  const grace = Number(options.grace);
  if (!Number.isFinite(grace) || grace < 0) {
    throw new InputError(`--grace: expected a number of seconds ≥ 0, got ${JSON.stringify(options.grace)}`);
  }
  const bodyLimitBytes = parseSizeBytes(options.bodyLimit);
  if (bodyLimitBytes === undefined) {
    throw new InputError(
      `--body-limit: expected a size such as 1m, 512k or 65536, got ${JSON.stringify(options.bodyLimit)}`,
    );
  }
  const repoRoot = options.repoRoot ? resolve(options.repoRoot) : process.cwd();
  const home = options.home ?? defaultHome();
  const stamped = (line: string) => process.stderr.write(`${new Date().toISOString()} ${line}\n`);
  const log = options.quiet ? undefined : stamped;
  const reapSeconds = Number(options.reapInterval);
  if (!Number.isFinite(reapSeconds) || reapSeconds < 1) {
    throw new InputError(
      `--reap-interval: expected seconds ≥ 1, got ${JSON.stringify(options.reapInterval)}`,
    );
  }
  const tokens = loadTokens(options.tokenFile);
  const credentials = options.authFile ? loadAuthFile(options.authFile) : undefined;
  // A client of the server is confined: repos inside the repo root, hosts by hosts-file alias only.
  // New accounts start with nothing: a team's credits come from an admin's grant.
  const manager = openManager(options, { baseDir: repoRoot, confined: true }, { initialCredits: 0 });
  const reaper = manager.reaper({ intervalMs: reapSeconds * 1000, ...(log ? { log } : {}) });
  reaper.start();
  const server = await startServer({
    manager,
    ...(credentials ? { credentials } : {}),
    ...(credentials?.oidc.length ? { verifyOidc: oidcVerifier(credentials.oidc, log) } : {}),
    host: options.host,
    port,
    tokens,
    log,
    errorLog: stamped,
    bodyLimitBytes,
    // Error bodies never show where the server keeps its state or its repos.
    redact: [
      [home, '$SANDBOXER_HOME'],
      [repoRoot, '<repo root>'],
    ],
  });
  if (tokens.length === 0 && !credentials) {
    process.stderr.write(
      'sandboxer: WARNING: no API tokens (--token-file, SANDBOXER_API_TOKENS): any process on this machine may create, destroy and grant credits\n',
    );
  }
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
      await reaper.stop();
      await manager.close();
      process.stderr.write(
        `sandboxer: stopped (${finished} operations finished, ${interrupted} interrupted)\n`,
      );
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}
