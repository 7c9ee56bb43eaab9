import { isAbsolute } from 'node:path';
import { z } from 'zod';
import { InputError } from '../../../errors.js';
import { loadRepoIgnore } from '../../../sync/ignore-rules.js';
import type { SyncMethod } from '../../../sync/request.js';
import type { RawInputs } from '../../contract.js';
import { parseInputs } from '../../inputs.js';
import { composeFilesInput, envInput, servicesInput } from './commands.js';

const seconds = (what: string) =>
  z.string().regex(/^\d+$/, `must be a whole number of seconds for ${what}`).transform(Number);

/**
 * Seconds `compose down` gives a service to stop before killing it. A sandbox's data is thrown away,
 * so nothing is gained by waiting Docker's 10 s for services that ignore SIGTERM (busybox httpd and
 * many shells as PID 1 do): a profile that must flush coverage or logs asks for more.
 */
export const DEFAULT_STOP_GRACE = 2;

/** The least a `stop`-consistency snapshot gives services: their data is being kept. */
export const SNAPSHOT_STOP_GRACE = 10;

const composeInputsSchema = z.looseObject({
  // Declared `local-path` (ext.compose-ssh.yaml): core has made it absolute and checked it is a directory.
  repo: z.string().refine(isAbsolute, 'must be an absolute path to a local directory').optional(),
  compose_files: z.string().default('docker-compose.yml'),
  services: z.string().default(''),
  env: z.string().default(''),
  stop_timeout: seconds('stop_timeout').default(DEFAULT_STOP_GRACE),
  wait_timeout: seconds('wait_timeout').default(120),
  sync_method: z.enum(['auto', 'rsync', 'tar']).default('auto'),
});

/** compose-ssh's inputs as validateInputs returns them: parsed once, typed, handed to provision. */
export interface ComposeInputs {
  /** The local repo to sync; absent for a restore (its workspace comes from the snapshot). */
  repo: string | undefined;
  /** Compose files, relative to the repo (checked not to leave it). */
  composeFiles: string[];
  /** The services to start and wait for; empty for all. */
  services: string[];
  /** Variables for compose's substitution; values may be secret and are never stored. */
  env: Record<string, string>;
  stopTimeout: number;
  waitTimeout: number;
  syncMethod: SyncMethod;
}

/** Parses compose-ssh's inputs; `repo` is required unless the sandbox comes from a snapshot. */
export function parseComposeInputs(
  extensionId: string,
  raw: RawInputs,
  options: { restore?: boolean } = {},
): ComposeInputs {
  const parsed = parseInputs(extensionId, composeInputsSchema, raw);
  if (!options.restore && parsed.repo === undefined) {
    throw new InputError(
      `${extensionId}: input "repo": is required (give it, or set a default in the profile)`,
      {
        extension: extensionId,
        inputs: ['repo'],
      },
    );
  }
  // Its .sandboxerignore is read now, so a bad one is refused before anything is made.
  if (!options.restore && parsed.repo !== undefined) loadRepoIgnore(parsed.repo);
  return {
    repo: options.restore ? undefined : parsed.repo,
    composeFiles: composeFilesInput(parsed.compose_files, '/check'),
    services: servicesInput(parsed.services),
    env: envInput(parsed.env),
    stopTimeout: parsed.stop_timeout,
    waitTimeout: parsed.wait_timeout,
    syncMethod: parsed.sync_method,
  };
}
