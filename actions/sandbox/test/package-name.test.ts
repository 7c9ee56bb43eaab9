import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import { CLI_COMMAND, destroyCommand, serverDestroyCommand } from '../src/context.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));

/**
 * The npm name `sandboxer` belongs to an unrelated package: `npx sandboxer` (or installing
 * `sandboxer`) would run a stranger's code. Our CLI is `@sand-boxer/cli`; its binary is `sandboxer`.
 */
const WRONG_PACKAGE =
  /\b(?:npx(?:\s+(?:-y|--yes))?|npm\s+(?:i|install|add|exec)(?:\s+(?:-g|--global))?|(?:pnpm|yarn)\s+dlx)\s+sandboxer\b/;

function files(dir: string, pattern: RegExp): string[] {
  return readdirSync(join(root, dir), { recursive: true, encoding: 'utf8' })
    .filter((name) => pattern.test(name) && !name.split('/').includes('node_modules'))
    .map((name) => join(root, dir, name));
}

describe('the CLI is named by its real npm package', () => {
  test('the post step tells how to destroy a kept sandbox with @sand-boxer/cli', () => {
    expect(CLI_COMMAND).toBe('npx -y @sand-boxer/cli');
    expect(destroyCommand('{"id":"k2j4h6g8f0d2"}', 'k2j4h6g8f0d2')).toBe(
      `npx -y @sand-boxer/cli destroy k2j4h6g8f0d2 --record '{"id":"k2j4h6g8f0d2"}'`,
    );
    expect(serverDestroyCommand('https://sbx.example.com', 'k2j4h6g8f0d2')).toMatch(
      /^npx -y @sand-boxer\/cli --server https:\/\/sbx\.example\.com destroy k2j4h6g8f0d2 /,
    );
  });

  test('no doc, README or action source tells anyone to run or install the npm package `sandboxer`', () => {
    const checked = [
      join(root, 'README.md'),
      join(root, 'action.yml'),
      ...files('docs', /\.md$/),
      ...files('packages', /^[^/]+\/README\.md$/),
      ...files('extensions', /\.md$/),
      ...files('actions/sandbox', /^(src\/.*\.ts|action\.yml)$/),
    ];
    expect(checked.length).toBeGreaterThan(10);
    const offending = checked.flatMap((file) =>
      readFileSync(file, 'utf8')
        .split('\n')
        .flatMap((line, index) =>
          WRONG_PACKAGE.test(line) ? [`${relative(root, file)}:${index + 1}: ${line.trim()}`] : [],
        ),
    );
    expect(offending).toEqual([]);
  });

  test.each([
    'npx sandboxer create',
    'npx -y sandboxer list',
    'npm i -g sandboxer',
    'npm install sandboxer',
    'pnpm dlx sandboxer',
  ])('the check catches %j', (line) => {
    expect(WRONG_PACKAGE.test(line)).toBe(true);
  });

  test.each([
    'npx -y @sand-boxer/cli destroy x',
    'npm i -g @sand-boxer/cli',
    'sandboxer list',
    'pnpm sandboxer list',
  ])('the check lets %j pass', (line) => {
    expect(WRONG_PACKAGE.test(line)).toBe(false);
  });
});
