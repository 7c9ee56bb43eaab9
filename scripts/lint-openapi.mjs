#!/usr/bin/env node
// Lints the HTTP API's OpenAPI document with redocly (redocly.yaml: the recommended ruleset). The
// document is the one `sandboxer serve` answers at /openapi.json, asked of the built server's app
// in-process (no port, no network), so what is linted is what clients get. Fails on any error;
// prints the warnings. Needs `pnpm build` (packages/server/dist) first, as CI's build step does.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const serverDist = join(root, 'packages', 'server', 'dist', 'index.js');
const redocly = join(root, 'node_modules', '.bin', 'redocly');

if (!existsSync(serverDist)) {
  console.error(`${serverDist} is missing: run \`pnpm build\` first`);
  process.exit(1);
}
const { createApp } = await import(pathToFileURL(serverDist).href);
// The workspace's core, the one the server package was built against.
const { openManager } = await import(pathToFileURL(join(root, 'packages', 'core', 'dist', 'index.js')).href);

const scratch = mkdtempSync(join(tmpdir(), 'lint-openapi-'));
try {
  // The manager is never called for the document; it only has to exist, on a throwaway home.
  const app = createApp({ manager: openManager({ home: scratch, cwd: scratch }) });
  const response = await app.request('http://127.0.0.1/openapi.json');
  if (response.status !== 200) {
    throw new Error(`GET /openapi.json answered ${response.status}: ${await response.text()}`);
  }
  const document = await response.json();
  const file = join(scratch, 'openapi.json');
  writeFileSync(file, `${JSON.stringify(document, null, 2)}\n`);

  let output;
  try {
    output = execFileSync(
      redocly,
      ['lint', file, '--config', join(root, 'redocly.yaml'), '--format', 'json', '--max-problems', '1000'],
      {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
        // No telemetry and no update check: CI reaches only the npm registry, and needs neither.
        env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' },
      },
    );
  } catch (error) {
    // redocly exits 1 when it found errors; its JSON report is on stdout all the same.
    output = error.stdout;
    if (!output?.trim().startsWith('{')) {
      throw new Error(`redocly lint did not run: ${error.message}\n${error.stderr ?? ''}`);
    }
  }
  const report = JSON.parse(output);
  for (const problem of report.problems) {
    const where = problem.location?.[0]?.pointer ?? '';
    console.log(
      `${problem.severity === 'error' ? 'error' : 'warn '} ${problem.ruleId}: ${problem.message} at ${where}`,
    );
  }
  const { errors, warnings } = report.totals;
  const methods = new Set(['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace']);
  const operations = Object.values(document.paths)
    .flatMap((item) => Object.keys(item))
    .filter((key) => methods.has(key)).length;
  console.log(
    `OpenAPI ${document.openapi}, ${operations} operations: ${errors} errors, ${warnings} warnings (redocly ${report.version})`,
  );
  process.exitCode = errors === 0 ? 0 : 1;
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
