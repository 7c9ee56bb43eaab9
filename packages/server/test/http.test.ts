import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ConfigError,
  FileStateStore,
  InputError,
  InsufficientCreditsError,
  loadCatalog,
  NoBackendAvailableError,
  NotFoundError,
  ProvisionError,
  SandboxManager,
  StateConflictError,
} from '@sand-boxer/core';
import { describe, expect, test } from 'vitest';
import { createApp } from '../src/app.js';
import { isLoopback, loadTokens } from '../src/auth/tokens.js';
import { errorResponse } from '../src/http-errors.js';

test.each([
  [new InputError('x'), 400],
  [new ConfigError('x'), 400],
  [new NotFoundError('x'), 404],
  [new StateConflictError('x'), 409],
  [new InsufficientCreditsError('x', {}), 402],
  [new NoBackendAvailableError('x', {}), 503],
  [new ProvisionError('x'), 502],
  [new Error('boom'), 500],
])('%o → %i', (error, status) => {
  expect(errorResponse(error).status).toBe(status);
});

describe('tokens', () => {
  test('from a file (comments skipped) and the environment', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'sbx-tokens-')), 'tokens');
    writeFileSync(file, '# ops\nfile-token-0123456789\n\n');
    expect(
      loadTokens(file, { SANDBOXER_API_TOKENS: 'env-token-0123456789, other-token-0123456789' }),
    ).toEqual(['file-token-0123456789', 'env-token-0123456789', 'other-token-0123456789']);
  });
  test('a short token or an unreadable file is refused', () => {
    expect(() => loadTokens(undefined, { SANDBOXER_API_TOKENS: 'short' })).toThrow('at least 16 characters');
    expect(() => loadTokens('/nonexistent/tokens', {})).toThrow(
      '--token-file /nonexistent/tokens: cannot read it (ENOENT)',
    );
  });
  test.each([
    ['127.0.0.1', true],
    ['127.1.2.3', true],
    ['localhost', true],
    ['::1', true],
    ['0.0.0.0', false],
    ['10.0.0.5', false],
  ])('%s loopback: %s', (host, loopback) => expect(isLoopback(host)).toBe(loopback));
});

test('an app with tokens refuses requests without one, and serves /healthz without', async () => {
  const home = mkdtempSync(join(tmpdir(), 'sbx-app-'));
  const manager = new SandboxManager({
    catalog: () => loadCatalog({ userDirs: [] }),
    store: new FileStateStore(home),
    home,
    inputs: { baseDir: home, confined: true },
  });
  const app = createApp({ manager, tokens: ['app-token-0123456789'] });
  expect((await app.request('/v1/sandboxes')).status).toBe(401);
  expect(
    (await app.request('/v1/sandboxes', { headers: { authorization: 'Bearer app-token-0123456789' } }))
      .status,
  ).toBe(200);
  expect((await app.request('/healthz')).status).toBe(200);
  expect(await (await app.request('/nope')).json()).toMatchObject({ code: 'NOT_FOUND' });
});
