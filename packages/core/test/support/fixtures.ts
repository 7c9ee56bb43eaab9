import { type Dirent, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Profile } from '../../src/declarations/profile-schema.js';
import type { DeclarationSource } from '../../src/declarations/read.js';
import type { SandboxRecord } from '../../src/records/sandbox.js';
import { newSandboxId } from '../../src/util/ids.js';

/** A ready sandbox record on this machine, already expired unless `expires_at` says otherwise. */
export function sandboxRecord(overrides: Partial<SandboxRecord> = {}): SandboxRecord {
  const now = new Date().toISOString();
  return {
    id: newSandboxId(),
    state: 'ready',
    profile: 'profile.x',
    extension: 'ext.x',
    host: 'local',
    consumer: 'test',
    created_at: now,
    updated_at: now,
    expires_at: now,
    ttl_seconds: 60,
    ...overrides,
  };
}

/** A fresh temporary directory for one test. */
export function tempDir(prefix = 'sbx-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** A small repo with a file, a nested file, and things that must never be synced. */
export function sampleRepo(): string {
  const repo = tempDir('sbx-repo-');
  writeFileSync(join(repo, 'README.md'), '# sample\n');
  mkdirSync(join(repo, 'src'));
  writeFileSync(join(repo, 'src', 'app.txt'), 'app\n');
  mkdirSync(join(repo, '.git'));
  writeFileSync(join(repo, '.git', 'HEAD'), 'ref: refs/heads/main\n');
  mkdirSync(join(repo, 'node_modules', 'dep'), { recursive: true });
  writeFileSync(join(repo, 'node_modules', 'dep', 'index.js'), '');
  writeFileSync(join(repo, 'secret.log'), 'ignored by .sandboxerignore\n');
  writeFileSync(join(repo, '.sandboxerignore'), '# comment\n*.log\n');
  return repo;
}

export function source(
  kind: DeclarationSource['kind'],
  displayPath: string,
  text: string,
): DeclarationSource {
  return { kind, displayPath, baseDir: undefined, text };
}

/** A profile object for direct extension calls. */
export function profileFor(extension: string, overrides: Partial<Profile> = {}): Profile {
  return {
    id: 'profile.test',
    description: 'test',
    extension,
    ttl: 600,
    inputs: { required: [], defaults: {} },
    wait_for: [],
    wait_for_timeout: 120,
    ...overrides,
  };
}

/** Built-in-like declarations for the in-memory reference extension. */
export const memoryDeclarations: DeclarationSource[] = [
  source(
    'extension',
    'extensions/ext.memory.yaml',
    `id: ext.memory
title: In-memory reference
handler: ${join(import.meta.dirname, 'memory-extension.ts')}:createMemoryExtension
capabilities:
  isolation_levels: [directory]
  pricing_model: metered
inputs:
  name: { description: "the in-memory resource's name" }
  fail_at: { description: "a step to fail at, for tests" }
`,
  ),
  source(
    'profile',
    'profiles/profile.memory.yaml',
    `description: in-memory sandboxes for tests
extension: ext.memory
ttl: 10m
max_ttl: 1h
inputs:
  required: [name]
`,
  ),
];

/**
 * Regular files named `pwned` anywhere under `root`: what `touch pwned` (a hostile fragment) leaves
 * if any value ever ran as a command. Directories do not count: their hostile names may end so.
 */
export function pwnedFiles(root: string): string[] {
  const found: string[] = [];
  const walk = (dir: string) => {
    // A removal's background `rm -rf` of its trash directory may still be running: a directory
    // that vanishes mid-walk holds no marker any more.
    let entries: Dirent[];
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw error;
    }
    for (const entry of entries) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name === 'pwned') found.push(path);
    }
  };
  walk(root);
  return found;
}
