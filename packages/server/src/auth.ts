import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { InputError } from '@sand-boxer/core';
import type { MiddlewareHandler } from 'hono';

/**
 * Bearer tokens, from a file (one per line, `#` comments) and/or `$SANDBOXER_API_TOKENS`
 * (comma-separated). Tokens are compared by their SHA-256 in constant time and never logged.
 */
export function loadTokens(tokenFile: string | undefined, env: NodeJS.ProcessEnv = process.env): string[] {
  const tokens: string[] = [];
  if (tokenFile) {
    let text: string;
    try {
      text = readFileSync(tokenFile, 'utf8');
    } catch (error) {
      throw new InputError(
        `--token-file ${tokenFile}: cannot read it (${(error as NodeJS.ErrnoException).code})`,
      );
    }
    tokens.push(
      ...text
        .split('\n')
        .map((l) => l.trim())
        .filter((l) => l && !l.startsWith('#')),
    );
  }
  tokens.push(
    ...(env.SANDBOXER_API_TOKENS ?? '')
      .split(',')
      .map((t) => t.trim())
      .filter(Boolean),
  );
  for (const token of tokens) {
    if (token.length < 16) throw new InputError('API tokens must be at least 16 characters long');
  }
  return tokens;
}

const digest = (text: string) => createHash('sha256').update(text).digest();

/** 401 unless the request carries one of the tokens; with no tokens configured, every request passes. */
export function bearerAuth(tokens: string[]): MiddlewareHandler {
  const known = tokens.map(digest);
  return async (c, next) => {
    if (known.length === 0) return next();
    const header = c.req.header('authorization') ?? '';
    const match = /^Bearer (.+)$/.exec(header);
    if (!match) {
      return c.json(
        {
          code: 'UNAUTHORIZED',
          message: 'missing bearer token (send "Authorization: Bearer <token>")',
          details: {},
        },
        401,
      );
    }
    const given = digest(match[1] as string);
    if (!known.some((k) => timingSafeEqual(k, given))) {
      return c.json({ code: 'UNAUTHORIZED', message: 'invalid bearer token', details: {} }, 401);
    }
    return next();
  };
}

/** Loopback addresses only: anything else must have tokens. */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}
