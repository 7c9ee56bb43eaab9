import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileStateStore, loadCatalog, SandboxManager } from '@sand-boxer/core';
import { describe, expect, test } from 'vitest';
import { createApp } from '../src/app.js';

/**
 * One error shape on every surface: each JSON error response carries `error: {code, message,
 * details}`, as the CLI's `--json` prints it, next to the top-level fields clients already read.
 */

const home = mkdtempSync(join(tmpdir(), 'sbx-error-shape-'));
const app = createApp({
  manager: new SandboxManager({
    catalog: () => loadCatalog({ userDirs: [] }),
    store: new FileStateStore(home),
    home,
    initialCredits: 100,
    inputs: { baseDir: home, confined: true },
  }),
  tokens: ['error-shape-token-0123456789'],
});
const auth = { authorization: 'Bearer error-shape-token-0123456789', 'content-type': 'application/json' };

describe('error bodies', () => {
  test.each([
    [
      'a typed error (no such sandbox)',
      'GET',
      '/v1/sandboxes/abc123def456',
      auth,
      undefined,
      404,
      'NOT_FOUND',
    ],
    ['no route', 'GET', '/v1/nowhere', auth, undefined, 404, 'NOT_FOUND'],
    ['no token', 'GET', '/v1/sandboxes', {}, undefined, 401, 'UNAUTHORIZED'],
    ['a body that is not JSON', 'POST', '/v1/sandboxes', auth, '{', 400, 'INPUT_INVALID'],
    ['a body that breaks the schema', 'POST', '/v1/sandboxes', auth, '{"profile": 3}', 400, 'INPUT_INVALID'],
  ])(
    '%s: {code, message, details} and the same in error',
    async (_what, method, path, headers, body, status, code) => {
      const response = await app.request(path, { method, headers, ...(body ? { body } : {}) });
      expect(response.status).toBe(status);
      const json = (await response.json()) as {
        code: string;
        message: string;
        details: unknown;
        error: unknown;
      };
      expect(json.code).toBe(code);
      expect(json.error).toEqual({ code: json.code, message: json.message, details: json.details });
    },
  );
});
