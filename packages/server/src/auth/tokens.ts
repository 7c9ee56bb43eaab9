import { readFileSync } from 'node:fs';
import { InputError } from '@sand-boxer/core';

/**
 * Plain admin tokens, from a file (one per line, `#` comments) and/or `$SANDBOXER_API_TOKENS`
 * (comma-separated): each may do anything. Per-account tokens come from the auth file
 * (credentials.ts). Tokens are compared by their SHA-256 in constant time and never logged.
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

/** Loopback addresses only: anything else must have tokens. */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}
