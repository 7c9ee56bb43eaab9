import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { type LoginFiles, type SandboxManager, writeLoginFiles } from '@sand-boxer/core';

/**
 * `ssh-config: true`: an ssh_config, key and known_hosts for later steps under $RUNNER_TEMP (0600),
 * included from ~/.ssh/config so that `ssh sbx-<id>` and `docker -H ssh://sbx-<id>` work as they
 * are (docker's ssh takes no `-F`). Post removes the files and the Include line.
 */

/** The comment line above each Include this action adds, so post removes exactly its own. */
const marker = (id: string) => `# sand-boxer: sandbox ${id} (removed by the post step)`;

const userConfig = () => join(homedir(), '.ssh', 'config');

export async function writeSshConfig(manager: SandboxManager, id: string, dir: string): Promise<LoginFiles> {
  const files = writeLoginFiles(dir, id, await manager.loginTarget(id));
  mkdirSync(join(homedir(), '.ssh'), { recursive: true, mode: 0o700 });
  const existing = existsSync(userConfig()) ? readFileSync(userConfig(), 'utf8') : '';
  // First in the file, outside any Host block (ssh takes the first value it finds for a setting).
  writeFileSync(userConfig(), `${marker(id)}\nInclude ${files.config}\n${existing}`, { mode: 0o600 });
  return files;
}

/** Removes the files and this sandbox's Include; safe to repeat, and after a main step that died half-way. */
export function removeSshConfig(id: string, dir: string | undefined): void {
  if (existsSync(userConfig())) {
    const lines = readFileSync(userConfig(), 'utf8').split('\n');
    const at = lines.indexOf(marker(id));
    if (at >= 0) {
      lines.splice(at, lines[at + 1]?.startsWith('Include ') ? 2 : 1);
      // A config that only held our lines was ours: leave no empty file behind.
      if (lines.join('').trim() === '') rmSync(userConfig());
      else writeFileSync(userConfig(), lines.join('\n'), { mode: 0o600 });
    }
  }
  if (dir) rmSync(dir, { recursive: true, force: true });
}
