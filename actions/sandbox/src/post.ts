import * as core from '@actions/core';
import { messageOf, type SandboxRecord, stopKeeper } from '@sand-boxer/core';
import { destroyCommand, openManager, openService, serverDestroyCommand } from './context.js';
import { type ActionInputs, getInputs } from './inputs.js';
import { removeSshConfig } from './ssh-config.js';
import { state } from './state.js';
import { summaryRows } from './summary.js';

const LOG_LINES = 100;
const LOG_BYTES = 64 * 1024;

/**
 * The post step (runs even when the job failed or was cancelled): dump logs if asked, tear down,
 * write the job summary. It never fails the job: a cleanup problem is a warning with the command
 * that finishes the job by hand. Running it twice is harmless (teardown is idempotent).
 */
export async function post(): Promise<void> {
  try {
    await run();
  } catch (error) {
    core.warning(`sand-boxer post step: ${messageOf(error)}`);
  }
}

async function run(): Promise<void> {
  const saved = state.record();
  if (!saved) {
    core.info('sand-boxer: the main step created no sandbox; nothing to clean up');
    return;
  }
  await releaseJobAccess(saved);
  const inputs = tolerantInputs();
  // Through the server if main went through it (it has the record); else this step's manager.
  const manager = inputs.serverUrl ? undefined : openManager(inputs);
  await manager?.adopt(saved);
  const service = manager ?? (await openService(inputs));
  const manual = inputs.serverUrl
    ? serverDestroyCommand(inputs.serverUrl, saved.id)
    : destroyCommand(JSON.stringify(saved), saved.id);

  if (saved.state === 'destroyed' || (saved.state === 'failed' && !saved.cleanup?.leftovers.length)) {
    core.info(
      `sand-boxer: sandbox ${saved.id} was already ${saved.state === 'failed' ? 'rolled back' : 'destroyed'}`,
    );
    await writeSummary(saved, undefined, saved.state);
    return;
  }
  if (inputs.logs === 'always' || (inputs.logs === 'on-failure' && state.mainFailed())) {
    if (manager) await dumpLogs(manager, saved.id);
    else
      core.info(
        `sand-boxer: the service logs are on the server: GET ${inputs.serverUrl}/v1/sandboxes/${saved.id}/logs`,
      );
  }
  if (!inputs.cleanup) {
    core.notice(
      `sand-boxer: keeping sandbox ${saved.id} (cleanup: false). Destroy it with (SANDBOXER_SSH_KEY or the identity file must give access):\n${manual}`,
    );
    await writeSummary(saved, undefined, 'kept (cleanup: false)');
    return;
  }
  const started = Date.now();
  try {
    const destroyed = await service.destroy(saved.id, { progress: (message) => core.info(message) });
    // Nothing left to tear down with a lease (the host ended it when the keeper stopped renewing),
    // or already destroyed before this step began (a server's reaper ended the lapsed lease).
    const endedBefore = destroyed.destroyed_at !== undefined && Date.parse(destroyed.destroyed_at) < started;
    const byLease =
      saved.lease_seconds !== undefined && (destroyed.cleanup?.already_gone === true || endedBefore);
    const how = byLease
      ? 'ended by its lease (the keeper stopped renewing it before post ran)'
      : 'destroyed by the post step';
    core.info(`sand-boxer: sandbox ${saved.id} ${how}`);
    await writeSummary(destroyed, (Date.now() - started) / 1000, how);
  } catch (error) {
    core.warning(
      `sand-boxer: could not tear down sandbox ${saved.id}: ${messageOf(error)}\nRemove it by hand with:\n${manual}`,
    );
    await writeSummary(saved, (Date.now() - started) / 1000, 'teardown failed (see warnings)');
  }
  // A server's own reaper finishes what its jobs leave; a local gc is for this step's state.
  if (manager) await scopedGc(manager, saved);
}

/**
 * First of all, whatever main set up for the job's later steps: the forwarder (stopped before the
 * teardown, so nothing reconnects to a stack going away) and the login files with the key copy.
 */
async function releaseJobAccess(saved: SandboxRecord): Promise<void> {
  try {
    if (await stopKeeper(saved.keeper, saved.id))
      core.info(`sand-boxer: stopped the port forwarder (pid ${saved.keeper?.pid})`);
  } catch (error) {
    core.warning(`sand-boxer: could not stop the port forwarder: ${messageOf(error)}`);
  }
  try {
    removeSshConfig(saved.id, state.sshDir());
  } catch (error) {
    core.warning(`sand-boxer: could not remove the ssh config for later steps: ${messageOf(error)}`);
  }
}

/**
 * A gc scoped to this run: whatever else this run's consumer left in the action's state (another
 * step's sandbox, a create cut short), and expired sandboxes on this run's host. Warnings only.
 */
async function scopedGc(manager: ReturnType<typeof openManager>, saved: SandboxRecord): Promise<void> {
  try {
    const findings = await manager.gc({
      consumer: saved.consumer,
      ...(saved.host === 'local' ? { scanHosts: false } : { hosts: [saved.host] }),
    });
    for (const f of findings.filter((x) => x.action !== 'keep')) {
      const line = `sand-boxer gc: ${f.sandbox} on ${f.where} (${f.reason}): ${f.action} ${f.result}${f.detail ? `: ${f.detail}` : ''}`;
      if (f.result === 'failed') core.warning(line);
      else core.info(line);
    }
  } catch (error) {
    core.warning(`sand-boxer: the scoped gc could not run: ${messageOf(error)}`);
  }
}

/** Post re-reads its inputs (the secret key is never stored); a bad one must not stop the cleanup. */
function tolerantInputs(): ActionInputs {
  try {
    return getInputs();
  } catch (error) {
    core.warning(`sand-boxer post step: ${messageOf(error)}; cleaning up with defaults`);
    return {
      profile: '',
      inputs: {},
      host: undefined,
      sshUser: undefined,
      sshPort: undefined,
      sshKey: core.getInput('ssh-key') || undefined,
      knownHosts: core.getInput('known-hosts') || undefined,
      hostFingerprint: core.getInput('host-fingerprint') || undefined,
      consumer: '',
      ttl: undefined,
      lease: undefined,
      waitTimeout: undefined,
      composeCommand: core.getInput('compose-command') || undefined,
      cleanup: core.getInput('cleanup') !== 'false',
      logs: 'on-failure',
      forward: [],
      sshConfig: false,
      waitFor: [],
      serverUrl: core.getInput('server-url') || undefined,
      serverToken: core.getInput('server-token') || undefined,
      oidcAudience: core.getInput('oidc-audience') || 'sand-boxer',
    };
  }
}

async function dumpLogs(manager: ReturnType<typeof openManager>, id: string): Promise<void> {
  try {
    const shown = await manager.logs(id, {
      lines: LOG_LINES,
      maxBytes: LOG_BYTES,
      write: (service, text) => {
        core.startGroup(`sand-boxer: last ${LOG_LINES} log lines of ${service}`);
        core.info(text.trimEnd() || '(no output)');
        core.endGroup();
      },
    });
    if (!shown) core.info('sand-boxer: this backend has no service logs to show');
  } catch (error) {
    core.warning(`sand-boxer: could not read service logs: ${messageOf(error)}`);
  }
}

async function writeSummary(
  record: SandboxRecord,
  teardownSeconds: number | undefined,
  outcome: string,
): Promise<void> {
  if (!process.env.GITHUB_STEP_SUMMARY) return;
  await core.summary
    .addHeading('sand-boxer sandbox', 3)
    .addTable([
      [
        { data: 'what', header: true },
        { data: 'value', header: true },
      ],
      ...summaryRows(record, teardownSeconds, outcome),
    ])
    .write();
}
