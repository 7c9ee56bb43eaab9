#!/usr/bin/env node
// Thin launcher: the CLI is compiled to dist/ by `pnpm build`.
import { existsSync } from 'node:fs';

const entry = new URL('../dist/index.js', import.meta.url);
if (!existsSync(entry)) {
  process.stderr.write(
    'sandboxer: the CLI is not built yet; run `pnpm install && pnpm build` in the repository root\n',
  );
  process.exit(2);
}
await import(entry.href);
