import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ConfigError } from '@sand-boxer/core';
import { parse } from 'yaml';
import { z } from 'zod';
import type { Principal, Role } from './principal.js';

/**
 * What a server accepts as a login: bearer tokens, each mapped to an account and a role (the auth
 * file), plain admin tokens (`--token-file`, `$SANDBOXER_API_TOKENS`: any token may do anything, as
 * before accounts), and optionally GitHub Actions OIDC tokens (see oidc.ts).
 *
 *   tokens:
 *     - { token: "…", account: team-a, role: member }
 *     - { sha256: "<hex of the token>", account: ops, role: admin }
 *   oidc:
 *     - issuer: https://token.actions.githubusercontent.com
 *       audience: sand-boxer
 *       jwks: ./jwks.json            # a file, or an https:// URL
 *       match: { repository_owner: acme }
 *       account: acme                # or account_claim: repository_owner
 *       role: member
 */

const accountName = z
  .string()
  .min(1)
  .max(200)
  .regex(/^\S+$/, 'an account name without spaces')
  .refine((name) => [...name].every((c) => c.charCodeAt(0) >= 0x20 && c.charCodeAt(0) !== 0x7f), {
    message: 'an account name without control characters',
  });
const role = z.enum(['member', 'admin']).default('member');

const tokenEntrySchema = z.union([
  z.strictObject({ token: z.string().min(16, 'at least 16 characters'), account: accountName, role }),
  z.strictObject({
    sha256: z.string().regex(/^[0-9a-f]{64}$/, '64 lowercase hex digits (sha256sum of the token)'),
    account: accountName,
    role,
  }),
]);

export const oidcRuleSchema = z
  .strictObject({
    issuer: z.url(),
    audience: z.string().min(1),
    /** A JWKS file (relative to the auth file) or an https:// URL serving one. */
    jwks: z.string().min(1),
    /** Claims the token must carry, exactly (e.g. repository_owner: acme). */
    match: z.record(z.string(), z.string()).default({}),
    account: accountName.optional(),
    /** Takes the account from this claim instead (e.g. repository_owner). */
    account_claim: z.string().min(1).optional(),
    role,
  })
  .refine((r) => (r.account === undefined) !== (r.account_claim === undefined), {
    message: 'give exactly one of account and account_claim',
  });
export type OidcRule = z.infer<typeof oidcRuleSchema> & { baseDir: string };

const authFileSchema = z.strictObject({
  tokens: z.array(tokenEntrySchema).default([]),
  oidc: z.array(oidcRuleSchema).default([]),
});

interface TokenCredential {
  digest: Buffer;
  principal: Principal;
}

export interface Credentials {
  tokens: TokenCredential[];
  oidc: OidcRule[];
}

const digest = (text: string) => createHash('sha256').update(text).digest();

/** Plain tokens of the old kind: admins without an account. */
export function adminTokens(tokens: string[]): Credentials {
  return {
    tokens: tokens.map((token, i) => ({
      digest: digest(token),
      principal: { role: 'admin', label: `admin token #${i + 1}` },
    })),
    oidc: [],
  };
}

/** Reads and checks an auth file; an error names the file and the field at fault. */
export function loadAuthFile(path: string): Credentials {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError(`--auth-file ${path}: cannot read it (${(error as NodeJS.ErrnoException).code})`, {
      file: path,
    });
  }
  let raw: unknown;
  try {
    raw = parse(text);
  } catch (error) {
    throw new ConfigError(`${path}: not valid YAML (${(error as Error).message})`, { file: path });
  }
  const parsed = authFileSchema.safeParse(raw ?? {});
  if (!parsed.success) {
    const problems = parsed.error.issues.map(
      (i) => `${i.path.map(String).join('.') || '(file)'}: ${i.message}`,
    );
    throw new ConfigError(`${path}: ${problems.join('; ')}`, { file: path, problems });
  }
  const baseDir = path.replace(/[^/]*$/, '') || '.';
  return {
    tokens: parsed.data.tokens.map((entry, i) => ({
      digest: 'token' in entry ? digest(entry.token) : Buffer.from(entry.sha256, 'hex'),
      principal: {
        role: entry.role as Role,
        account: entry.account,
        label: `token #${i + 1} (${entry.account})`,
      },
    })),
    oidc: parsed.data.oidc.map((rule) => ({ ...rule, baseDir })),
  };
}

export function mergeCredentials(...all: Credentials[]): Credentials {
  return { tokens: all.flatMap((c) => c.tokens), oidc: all.flatMap((c) => c.oidc) };
}

export function hasCredentials(credentials: Credentials): boolean {
  return credentials.tokens.length > 0 || credentials.oidc.length > 0;
}

/** The principal of a bearer token, compared by SHA-256 in constant time against every known one. */
export function principalOfToken(credentials: Credentials, token: string): Principal | undefined {
  const given = digest(token);
  let found: Principal | undefined;
  for (const known of credentials.tokens) {
    if (timingSafeEqual(known.digest, given) && !found) found = known.principal;
  }
  return found;
}
