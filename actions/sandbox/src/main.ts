import * as core from '@actions/core';
import { type SandboxRecord, stopRunningSyncs } from '@sand-boxer/core';
import { hostSpec, openManager } from './context.js';
import { actionMessage } from './error-terms.js';
import { getInputs } from './inputs.js';
import { state } from './state.js';

/**
 * The main step: provision the sandbox and publish how to reach it. The record is saved to the
 * step state before provisioning and after every change, so the post step can always clean up.
 */
export async function main(): Promise<void> {
  state.markMainStarted();
  // The runner cancels with SIGINT, then SIGTERM 7.5 s later, then kills: stop at once and leave
  // the teardown to the post step, which runs from the state saved so far.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      stopRunningSyncs();
      state.markMainFailed();
      core.warning(`cancelled (${signal}): the post step will tear down whatever was created`);
      process.exit(1);
    });
  }
  try {
    const inputs = getInputs();
    const manager = openManager(inputs);
    const sandboxInputs = { ...inputs.inputs };
    if (inputs.waitTimeout !== undefined) sandboxInputs.wait_timeout = String(inputs.waitTimeout);
    const record = await manager.create(
      {
        profile: inputs.profile,
        inputs: sandboxInputs,
        consumer: inputs.consumer,
        host: hostSpec(inputs),
        ttl: inputs.ttl,
      },
      { progress: (message) => core.info(message), onRecord: (r) => state.saveRecord(r) },
    );
    publishOutputs(record);
    // The estimate of the backend routing chose (a routed profile may have fallen back to self-hosted).
    core.setOutput('cost-estimate', String(record.estimate?.credits ?? 0));
    core.info(`sandbox ${record.id} is ready on ${record.host}`);
  } catch (error) {
    state.markMainFailed();
    core.setFailed(actionMessage(error));
  }
}

function publishOutputs(record: SandboxRecord): void {
  const r = record.reachability ?? {};
  core.setOutput('sandbox-id', record.id);
  core.setOutput('host', r.host ?? record.host);
  core.setOutput('ssh', r.ssh ?? '');
  core.setOutput('remote-dir', r.remote_dir ?? '');
  core.setOutput('compose-project', r.compose_project ?? '');
  core.setOutput('reachability', JSON.stringify(r));
}
