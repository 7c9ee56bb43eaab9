import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { InputError, type SandboxManager } from '@sand-boxer/core';
import { type AppOptions, createApp } from './app.js';
import { hasCredentials } from './auth/credentials.js';
import { isLoopback } from './auth/tokens.js';
import { Operations } from './operations.js';

export interface ServerOptions {
  manager: SandboxManager;
  host: string;
  port: number;
  tokens: string[];
  credentials?: AppOptions['credentials'];
  verifyOidc?: AppOptions['verifyOidc'];
  log?: (line: string) => void;
  errorLog?: (line: string) => void;
  bodyLimitBytes?: number;
  /** Server paths never shown in error bodies, with their labels (see http-errors.ts). */
  redact?: AppOptions['redact'];
}

export interface RunningServer {
  url: string;
  /**
   * Stops accepting connections, lets in-flight operations finish for `graceMs`, then interrupts the
   * rest (a create rolls back and is recorded as failed; anything a hard kill leaves stays recorded for `sandboxer destroy`).
   */
  close(graceMs?: number): Promise<{ finished: number; interrupted: number }>;
}

/** Starts the HTTP API; refuses a non-loopback address without tokens. */
export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const authenticated =
    options.tokens.length > 0 || (options.credentials && hasCredentials(options.credentials));
  if (!isLoopback(options.host) && !authenticated) {
    throw new InputError(
      `refusing to listen on ${options.host} without authentication: give --auth-file, --token-file or SANDBOXER_API_TOKENS, or listen on 127.0.0.1`,
    );
  }
  const operations = new Operations();
  const app = createApp({
    manager: options.manager,
    tokens: options.tokens,
    ...(options.credentials ? { credentials: options.credentials } : {}),
    ...(options.verifyOidc ? { verifyOidc: options.verifyOidc } : {}),
    operations,
    log: options.log,
    ...(options.errorLog ? { errorLog: options.errorLog } : {}),
    ...(options.bodyLimitBytes ? { bodyLimitBytes: options.bodyLimitBytes } : {}),
    ...(options.redact ? { redact: options.redact } : {}),
  });
  const server = await new Promise<ReturnType<typeof serve>>((resolve, reject) => {
    const s = serve({ fetch: app.fetch, hostname: options.host, port: options.port }, () => resolve(s));
    s.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        error.code === 'EADDRINUSE'
          ? new InputError(
              `port ${options.port} on ${options.host} is already in use (pick another with --port)`,
            )
          : error,
      ),
    );
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${host}:${address.port}`,
    async close(graceMs = 30_000) {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      const result = await operations.drain(graceMs);
      // Idle keep-alive connections would hold close() open.
      (server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
      await closed;
      return result;
    },
  };
}
