import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { currentArtifacts } from './support/artifacts.js';
import {
  filesUnder,
  keyBodyLines,
  privateKeySecret,
  type Secret,
  SLICE,
  scanFiles,
  tokenSecret,
} from './support/secret-scan.js';
import { loadTestbed } from './support/testbed.js';

/**
 * The last e2e file (support/sequencer.ts runs it after all others): every log, CLI output, action
 * summary/state/output and state file the suite produced holds no private key and no API token.
 *
 * What is scanned: the run's artifacts directory (support/artifacts.ts: the TMPDIR of every test and
 * child process, so every state home, action job and workspace, plus the captured stdout/stderr of
 * every CLI run, action step and server) and the testbed's own logs. To scan a run made of separate
 * invocations, export the same SANDBOXER_E2E_ARTIFACTS for all of them.
 */

/** A whole suite leaves hundreds of files; fewer than this means the scan looked in the wrong place. */
const MIN_FILES = 20;
const MIN_BYTES = 20_000;

const artifacts = currentArtifacts();
if (!artifacts)
  throw new Error('SANDBOXER_E2E_ARTIFACTS is not set: run with --config tests/e2e/vitest.config.ts');
const selfTestDir = join(artifacts.run, 'secret-scan-self-test');
afterAll(() => rmSync(selfTestDir, { recursive: true, force: true }));

/** The environment the testbed's env.sh exports (when sourced), else undefined values. */
const testbedEnv: NodeJS.ProcessEnv = process.env;

/** The testbed's two private keys, from $SANDBOXER_TESTBED_KEY / _WRONG_KEY (else its env.sh). */
function keyFiles(): string[] {
  const fromEnv = [testbedEnv.SANDBOXER_TESTBED_KEY, testbedEnv.SANDBOXER_TESTBED_WRONG_KEY];
  if (fromEnv.every(Boolean)) return fromEnv as string[];
  const testbed = loadTestbed();
  return [testbed.key, testbed.wrongKey];
}

function keySecrets(): Secret[] {
  const paths = keyFiles();
  const texts = paths.map((path) => readFileSync(path, 'utf8'));
  const publicKeys = paths
    .map((path) => `${path}.pub`)
    .filter(existsSync)
    .map((p) => readFileSync(p, 'utf8'));
  return paths.map((path, i) =>
    privateKeySecret(`the private key ${path}`, texts[i] as string, {
      keyTexts: texts.filter((_, j) => j !== i),
      publicKeys,
    }),
  );
}

/**
 * Bearer tokens the e2e tests use: constants named *TOKEN* and `Bearer <literal>` in their sources,
 * plus every token the support runners handed to a process this run (artifacts/secrets/seen.jsonl).
 */
function tokens(keyTexts: string[]): string[] {
  const found = new Set<string>();
  for (const name of readdirSync(import.meta.dirname).filter((n) => n.endsWith('.itg.test.ts'))) {
    if (name === 'zz-secret-scan.itg.test.ts') continue;
    const source = readFileSync(join(import.meta.dirname, name), 'utf8');
    for (const m of source.matchAll(/const\s+\w*TOKEN\w*\s*=\s*['"`]([^'"`$]{8,})['"`]/g))
      found.add(m[1] as string);
    for (const m of source.matchAll(/Bearer ([A-Za-z0-9._~+/=-]{8,})['"`]/g)) found.add(m[1] as string);
  }
  const seen = join(artifacts?.secrets ?? '', 'seen.jsonl');
  if (existsSync(seen)) {
    for (const line of readFileSync(seen, 'utf8').split('\n').filter(Boolean)) found.add(JSON.parse(line));
  }
  // Key text handed over as SANDBOXER_SSH_KEY is covered by the key secrets.
  return [...found].filter((t) => !keyTexts.some((k) => k.trim() === t.trim()));
}

describe('the secret scanner itself', () => {
  test('finds a planted key, key slice, header and token, and nothing in clean files', () => {
    const keys = keySecrets();
    const [key] = keyFiles().map((path) => readFileSync(path, 'utf8'));
    const body = keyBodyLines(key as string);
    const slice = [...(keys[0]?.slices ?? [])][Math.floor((keys[0]?.slices.size ?? 0) / 2)] as string;
    expect(slice).toHaveLength(SLICE);
    const token = 'planted-token-7f3a9c1e';
    mkdirSync(join(selfTestDir, 'nested', 'home', 'sandboxes'), { recursive: true });
    const plant = (name: string, text: string) => writeFileSync(join(selfTestDir, name), text);
    plant('state.json', JSON.stringify({ handle: { key } }));
    plant('nested/home/sandboxes/slice.json', `{"note":"x${slice}y"}`);
    plant('joined.log', `key=${body.join('')}\n`);
    plant('pem-header.txt', 'junk -----BEGIN RSA PRIVATE KEY----- junk');
    plant('cli.stderr', `sending Authorization: Bearer ${token}\n`);
    // The runner consumes ::add-mask:: commands; the same key anywhere else in the output is a leak.
    const masks = (key as string)
      .split('\n')
      .filter(Boolean)
      .map((line) => `::add-mask::${line}\n`)
      .join('');
    plant('action-main.stdout', `${masks}sandbox x: ready\n`);
    plant('action-post.stdout', `${masks}debug: ${body[2]}\n`);
    // Not secret: the public keys and the framing every OpenSSH ed25519 key starts with.
    const publicKeys = keyFiles()
      .map((path) => `${path}.pub`)
      .filter(existsSync);
    plant('clean.txt', `${publicKeys.map((p) => readFileSync(p, 'utf8')).join('')}${body[0]}\nall fine\n`);

    const result = scanFiles([selfTestDir], [...keys, tokenSecret('the planted token', token)]);
    expect(result.files).toBe(8);
    const byFile = (name: string) =>
      result.findings.filter((f) => f.file === join(selfTestDir, name)).map((f) => f.label);
    expect(byFile('state.json')).toContain('a private key header');
    expect(byFile('state.json').some((l) => l.startsWith('the private key'))).toBe(true);
    expect(byFile('nested/home/sandboxes/slice.json')).toEqual([`${keys[0]?.label} (a 40-character slice)`]);
    expect(byFile('joined.log').length).toBeGreaterThan(0);
    expect(byFile('pem-header.txt')).toEqual(['a private key header']);
    expect(byFile('cli.stderr')).toEqual(['the planted token']);
    expect(byFile('clean.txt')).toEqual([]);
    expect(byFile('action-main.stdout')).toEqual([]);
    expect(byFile('action-post.stdout').length).toBeGreaterThan(0);
    rmSync(selfTestDir, { recursive: true, force: true });
  });
});

describe('what the e2e suite left behind', () => {
  test('no log, output, summary or state file holds a private key or a token', () => {
    const keys = keySecrets();
    const keyTexts = keyFiles().map((path) => readFileSync(path, 'utf8'));
    const tokenList = tokens(keyTexts);
    // The HTTP tests' tokens at least; none found means the patterns above no longer match the tests.
    expect(tokenList.length).toBeGreaterThan(0);
    const secrets = [
      ...keys,
      ...tokenList.map((t, i) => tokenSecret(`API token #${i + 1} (${t.slice(0, 4)}…)`, t)),
    ];

    const testbedDir = testbedEnv.SANDBOXER_TESTBED_DIR ?? loadTestbed().dir;
    const testbedLogs = readdirSync(testbedDir)
      .filter((n) => n.endsWith('.log'))
      .map((n) => join(testbedDir, n));
    const run = artifacts.run;
    // The minimums count the run's own files: the testbed logs are there even when nothing ran.
    const produced = scanFiles([run], secrets, [artifacts.secrets, selfTestDir]);
    const logs = scanFiles(testbedLogs, secrets);
    const findings = [...produced.findings, ...logs.findings];

    const outputs = readdirSync(artifacts.outputs).length;
    const stateFiles = [...filesUnder([artifacts.tmp])].filter((p) =>
      /\/sandboxes\/[a-z0-9]{12}\.json$/.test(p),
    ).length;
    process.stdout.write(
      `secret scan: ${produced.files} files, ${produced.bytes} bytes under ${run} (${outputs} captured outputs, ${stateFiles} sandbox state files) and ${logs.files} testbed logs, ${logs.bytes} bytes; ${secrets.length} secrets, ${findings.length} findings\n`,
    );
    expect(produced.files, `scanned only ${produced.files} files under ${run}`).toBeGreaterThanOrEqual(
      MIN_FILES,
    );
    expect(produced.bytes, `scanned only ${produced.bytes} bytes under ${run}`).toBeGreaterThanOrEqual(
      MIN_BYTES,
    );
    expect(outputs, 'no CLI, action or server output was captured').toBeGreaterThan(0);
    expect(stateFiles, 'no sandbox state file was found').toBeGreaterThan(0);
    expect(findings.map((f) => `${f.file} @${f.offset}: ${f.label}`)).toEqual([]);
  });
});
