#!/usr/bin/env node
// Thin launcher: `pnpm build` compiles the CLI to dist/ and bundles it into bundle/ (scripts/bundle.mjs),
// which loads much faster than dist/ and its dependencies file by file.
import { existsSync } from 'node:fs';

const entry = new URL('../bundle/index.js', import.meta.url);
if (!existsSync(entry)) {
  process.stderr.write(
    'sandboxer: the CLI is not built yet; run `pnpm install && pnpm build` in the repository root\n',
  );
  process.exit(2);
}
await import(entry.href);
