import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileStateStore, loadCatalog, SandboxManager } from '@sand-boxer/core';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { beforeAll, describe, expect, test } from 'vitest';
import { createApp } from '../src/app.js';
import { loadAuthFile } from '../src/auth/credentials.js';
import { oidcVerifier } from '../src/auth/oidc.js';

/**
 * GitHub Actions OIDC tokens as credentials, with a key pair and JWKS made here (never a real
 * GitHub endpoint): the claims GitHub puts in a job's token, signed by "the issuer".
 */

const ISSUER = 'https://token.actions.githubusercontent.com';
const dir = mkdtempSync(join(tmpdir(), 'sbx-oidc-'));
let sign: (
  claims: Record<string, unknown>,
  options?: { audience?: string; expires?: string },
) => Promise<string>;
let app: ReturnType<typeof createApp>;

beforeAll(async () => {
  const { publicKey, privateKey } = await generateKeyPair('RS256');
  writeFileSync(
    join(dir, 'jwks.json'),
    JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid: 'k1', alg: 'RS256' }] }),
  );
  const other = await generateKeyPair('RS256');
  sign = async (claims, options = {}) =>
    new SignJWT(claims)
      .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
      .setIssuer(ISSUER)
      .setAudience(options.audience ?? 'sand-boxer')
      .setIssuedAt()
      .setExpirationTime(options.expires ?? '5m')
      .sign(claims.forged ? other.privateKey : privateKey);
  writeFileSync(
    join(dir, 'auth.yaml'),
    `oidc:
  - issuer: ${ISSUER}
    audience: sand-boxer
    jwks: jwks.json
    match: { repository: acme/ops, ref: refs/heads/main }
    account: ops
    role: admin
  - issuer: ${ISSUER}
    audience: sand-boxer
    jwks: jwks.json
    match: { repository_owner: acme }
    account_claim: repository
    role: member
`,
  );
  const credentials = loadAuthFile(join(dir, 'auth.yaml'));
  const home = join(dir, 'home');
  const manager = new SandboxManager({
    catalog: () => loadCatalog({ userDirs: [] }),
    store: new FileStateStore(home),
    home,
    inputs: { baseDir: dir, confined: true },
  });
  app = createApp({ manager, credentials, verifyOidc: oidcVerifier(credentials.oidc) });
});

const get = async (token: string, path = '/v1/credits') =>
  app.request(path, { headers: { authorization: `Bearer ${token}` } });

describe('GitHub Actions OIDC tokens', () => {
  test("a job of the organisation is a member of its repository's account", async () => {
    const token = await sign({
      repository_owner: 'acme',
      repository: 'acme/web',
      sub: 'repo:acme/web:ref:refs/heads/x',
    });
    const response = await get(token);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual([expect.objectContaining({ account: 'acme/web' })]);
    expect((await get(token, '/v1/credits/acme%2Fother')).status).toBe(403);
  });

  test('the ops repository on main is an admin (rules are tried in order; the first that accepts wins)', async () => {
    const token = await sign({ repository_owner: 'acme', repository: 'acme/ops', ref: 'refs/heads/main' });
    const grant = await app.request('/v1/credits/acme%2Fweb/grants', {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ amount: 5 }),
    });
    expect(grant.status).toBe(201);
    const elsewhere = await sign({ repository_owner: 'acme', repository: 'acme/ops', ref: 'refs/heads/dev' });
    expect((await get(elsewhere, '/v1/credits/ops')).status).toBe(403);
  });

  test.each([
    ['another organisation', { repository_owner: 'evil', repository: 'evil/x' }, {}],
    ['another audience', { repository_owner: 'acme', repository: 'acme/web' }, { audience: 'someone-else' }],
    ['an expired token', { repository_owner: 'acme', repository: 'acme/web' }, { expires: '-1m' }],
    ['a token signed by another key', { repository_owner: 'acme', repository: 'acme/web', forged: true }, {}],
  ])('%s is refused (401)', async (_what, claims, options) => {
    expect((await get(await sign(claims, options))).status).toBe(401);
  });

  test('a JWKS that cannot be read is an error naming it', () => {
    writeFileSync(
      join(dir, 'bad.yaml'),
      `oidc:\n  - { issuer: "${ISSUER}", audience: a, jwks: missing.json, account: x }\n`,
    );
    expect(() => oidcVerifier(loadAuthFile(join(dir, 'bad.yaml')).oidc)).toThrow(
      /oidc jwks .*missing\.json: cannot read it/,
    );
  });
});
