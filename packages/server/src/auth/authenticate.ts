import type { MiddlewareHandler } from 'hono';
import { type Credentials, hasCredentials, principalOfToken } from './credentials.js';
import { LOCAL_ADMIN, type Principal } from './principal.js';

/** Verifies a token as a GitHub Actions OIDC token (oidc.ts); undefined when it is not one we accept. */
export type OidcVerifier = (token: string) => Promise<Principal | undefined>;

const refuse = (message: string) => ({ code: 'UNAUTHORIZED', message, details: {} });

/**
 * Sets the request's principal from its bearer token, or answers 401. Without any credentials
 * configured (a loopback-only server), every request is the local admin.
 */
export function authenticate(credentials: Credentials, verifyOidc?: OidcVerifier): MiddlewareHandler {
  const open = !hasCredentials(credentials);
  return async (c, next) => {
    if (open) {
      c.set('principal', LOCAL_ADMIN);
      return next();
    }
    const match = /^Bearer (.+)$/.exec(c.req.header('authorization') ?? '');
    if (!match) return c.json(refuse('missing bearer token (send "Authorization: Bearer <token>")'), 401);
    const token = match[1] as string;
    const principal =
      principalOfToken(credentials, token) ??
      (verifyOidc && credentials.oidc.length > 0 && token.split('.').length === 3
        ? await verifyOidc(token)
        : undefined);
    if (!principal) return c.json(refuse('invalid bearer token'), 401);
    c.set('principal', principal);
    return next();
  };
}
