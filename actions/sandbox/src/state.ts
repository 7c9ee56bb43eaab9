import * as core from '@actions/core';
import { type SandboxRecord, sandboxRecordSchema } from '@sand-boxer/core';

/**
 * Everything the post step needs, saved by the main step with `saveState` as it goes: the record is
 * saved before provisioning starts and after every change, so a main step that failed or was
 * cancelled half-way still leaves the post step enough to clean up. No secret is ever saved here:
 * the post step re-reads the `ssh-key` input.
 */
const KEYS = {
  isPost: 'isPost',
  record: 'sandbox-record',
  mainFailed: 'main-failed',
  sshDir: 'ssh-dir',
} as const;

export const state = {
  /** Set first thing in main: the same bundle then knows it runs as the post step. */
  markMainStarted(): void {
    core.saveState(KEYS.isPost, 'true');
  },
  isPost(): boolean {
    return core.getState(KEYS.isPost) === 'true';
  },
  saveRecord(record: SandboxRecord): void {
    core.saveState(KEYS.record, JSON.stringify(record));
  },
  /** The last record main saved, or undefined if main never got that far (or it is unreadable). */
  record(): SandboxRecord | undefined {
    const text = core.getState(KEYS.record);
    if (!text) return undefined;
    const parsed = sandboxRecordSchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : undefined;
  },
  /** The directory of the ssh_config written for later steps (post removes it). */
  saveSshDir(dir: string): void {
    core.saveState(KEYS.sshDir, dir);
  },
  sshDir(): string | undefined {
    return core.getState(KEYS.sshDir) || undefined;
  },
  markMainFailed(): void {
    core.saveState(KEYS.mainFailed, 'true');
  },
  mainFailed(): boolean {
    return core.getState(KEYS.mainFailed) === 'true';
  },
};
