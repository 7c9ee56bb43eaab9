import { readFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { ConfigError, messageOf } from '@sand-boxer/core';
import { createLocalJWKSet, createRemoteJWKSet, type JWTPayload, jwtVerify } from 'jose';
import type { OidcVerifier } from './authenticate.js';
import type { OidcRule } from './credentials.js';
import type { Principal } from './principal.js';

/**
 * GitHub Actions OIDC tokens as credentials (the auth file's `oidc:` rules): a job with
 * `permissions: id-token: write` asks GitHub for a token with the rule's audience, and no secret has
 * to be handed out. A token is accepted by the first rule whose issuer, audience and JWKS verify it
 * (signature, expiry) and whose `match` claims it carries exactly; its account comes from the rule,
 * or from one of its claims (`account_claim: repository_owner`). Verified with `jose`.
 */
export function oidcVerifier(rules: OidcRule[], log?: (line: string) => void): OidcVerifier {
  const keys = rules.map((rule) => keySet(rule));
  return async (token) => {
    for (const [i, rule] of rules.entries()) {
      let payload: JWTPayload;
      try {
        ({ payload } = await jwtVerify(token, keys[i] as Parameters<typeof jwtVerify>[1], {
          issuer: rule.issuer,
          audience: rule.audience,
        }));
      } catch (error) {
        log?.(`oidc rule #${i + 1} (${rule.issuer}): ${messageOf(error)}`);
        continue;
      }
      if (!Object.entries(rule.match).every(([claim, value]) => payload[claim] === value)) continue;
      const account = rule.account ?? claimText(payload, rule.account_claim);
      if (!account) continue;
      return {
        role: rule.role,
        account,
        label: `oidc rule #${i + 1} (${account}${typeof payload.sub === 'string' ? `, ${payload.sub}` : ''})`,
      } satisfies Principal;
    }
    return undefined;
  };
}

function claimText(payload: JWTPayload, claim: string | undefined): string | undefined {
  const value = claim ? payload[claim] : undefined;
  return typeof value === 'string' && value ? value : undefined;
}

/** The rule's keys: a JWKS file (relative to the auth file), or an https:// URL (fetched and cached). */
function keySet(rule: OidcRule) {
  if (/^https?:\/\//.test(rule.jwks)) return createRemoteJWKSet(new URL(rule.jwks));
  const path = isAbsolute(rule.jwks) ? rule.jwks : join(rule.baseDir, rule.jwks);
  try {
    return createLocalJWKSet(JSON.parse(readFileSync(path, 'utf8')));
  } catch (error) {
    throw new ConfigError(`oidc jwks ${path}: cannot read it as a JWKS (${messageOf(error)})`, {
      file: path,
    });
  }
}
