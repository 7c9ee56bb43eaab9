import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseSandboxId, sshArgs, writeLoginFiles } from '@sand-boxer/core';
import { type ContextOptions, openManager } from '../context.js';
import { CommandNotRun } from '../exit-codes.js';
import { adoptRecordFlag, type RecordFlag } from '../record-flags.js';

/**
 * `sandboxer ssh <id> [-- cmd args…]`: ssh(1) into the sandbox's host, in its directory, with the
 * right key and exactly the host key just verified; a shell with a terminal, or one command.
 */
export async function ssh(id: string, argv: string[], options: ContextOptions & RecordFlag): Promise<void> {
  const manager = openManager(options);
  // As exec: ssh's own code (255 when it cannot connect) or the command's; sandboxer's failure is 125.
  const login = await adoptRecordFlag(manager, id, options)
    .then(() => manager.loginTarget(id))
    .catch((error: unknown) => {
      throw new CommandNotRun(error);
    });
  const dir = mkdtempSync(join(process.env.RUNNER_TEMP || tmpdir(), 'sandboxer-ssh-'));
  try {
    const files = writeLoginFiles(dir, parseSandboxId(id), login);
    const child = spawn('ssh', sshArgs(files, argv), { stdio: 'inherit' });
    // ssh(1) owns the terminal meanwhile: its own signals are its to handle.
    const ignore = () => {};
    process.on('SIGINT', ignore);
    process.exitCode = await new Promise<number>((resolve, reject) => {
      child.on('error', reject);
      child.on('close', (code) => resolve(code ?? 255));
    });
    process.off('SIGINT', ignore);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
