import { join } from 'node:path';
import * as core from '@actions/core';
import { type SandboxManager, type SandboxRecord, stopRunningSyncs } from '@sand-boxer/core';
import { hostSpec, openManager, openService } from './context.js';
import { actionMessage } from './error-terms.js';
import { type ActionInputs, getInputs } from './inputs.js';
import { startKeeper } from './keeper.js';
import { writeSshConfig } from './ssh-config.js';
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
    const service = await openService(inputs);
    const sandboxInputs = { ...inputs.inputs };
    if (inputs.waitTimeout !== undefined) sandboxInputs.wait_timeout = String(inputs.waitTimeout);
    let record = await service.create(
      {
        profile: inputs.profile,
        inputs: sandboxInputs,
        consumer: inputs.consumer,
        host: hostSpec(inputs),
        ttl: inputs.ttl,
        ...(inputs.waitFor.length > 0 ? { waitFor: inputs.waitFor } : {}),
        // Without a server, a lease only where the backend keeps it itself: a lease this step's own
        // store keeps would go with the runner. A server keeps any (its reaper ends a lapsed one).
        ...(inputs.lease
          ? { lease: inputs.lease, ...(inputs.serverUrl ? {} : { leaseIfSupported: true }) }
          : {}),
      },
      { progress: (message) => core.info(message), onRecord: (r) => state.saveRecord(r) },
    );
    publishOutputs(record);
    // The estimate of the backend routing chose (a routed profile may have fallen back to self-hosted).
    core.setOutput('cost-estimate', String(record.estimate?.credits ?? 0));
    if (inputs.forward.length > 0 || record.lease_seconds !== undefined) {
      record = await keepForTheJob(record, inputs);
    }
    if (inputs.sshConfig) await writeLoginForTheJob(await localManager(inputs, record), record.id);
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

/**
 * The job's keeper: a process that outlives this step, forwards the ports to the runner's 127.0.0.1
 * (`forward`) and renews the lease (`lease`), over SSH; the record (and so post) knows its pid from
 * the moment it exists. It dies with the runner: then the lease lapses and the host tears down.
 */
async function keepForTheJob(record: SandboxRecord, inputs: ActionInputs): Promise<SandboxRecord> {
  if (inputs.forward.length > 0) {
    core.info(
      `forwarding ${inputs.forward[0] === '*' ? 'every published port' : inputs.forward.join(', ')} to 127.0.0.1`,
    );
  }
  if (record.lease_seconds !== undefined) {
    core.info(`lease ${record.lease_seconds}s: renewed by the job's keeper; the post step ends it`);
  }
  const names = inputs.forward[0] === '*' ? [] : inputs.forward;
  const keeper = await startKeeper(record, names, inputs.forward.length > 0, inputs, (spawned) =>
    state.saveRecord({ ...record, keeper: spawned }),
  );
  const kept = { ...record, keeper };
  state.saveRecord(kept);
  core.setOutput('urls', JSON.stringify(keeper.forwards));
  core.setOutput('url', Object.values(keeper.forwards)[0] ?? '');
  for (const [name, url] of Object.entries(keeper.forwards)) core.info(`  ${name} → ${url}`);
  return kept;
}

/** This step's own manager, holding the record (made here, or by the server): SSH to the host is ours. */
async function localManager(inputs: ActionInputs, record: SandboxRecord): Promise<SandboxManager> {
  const manager = openManager(inputs);
  await manager.adopt(record);
  return manager;
}

/** `ssh-config: true`: login files for later steps under $RUNNER_TEMP, removed by post. */
async function writeLoginForTheJob(manager: SandboxManager, id: string): Promise<void> {
  const dir = join(process.env.RUNNER_TEMP || '/tmp', `sandboxer-ssh-${id}`);
  state.saveSshDir(dir);
  const files = await writeSshConfig(manager, id, dir);
  core.setOutput('ssh-config', files.config);
  core.setOutput('docker-host', `ssh://${files.alias}`);
  core.info(
    `ssh config for later steps: ssh -F ${files.config} ${files.alias} (docker -H ssh://${files.alias})`,
  );
}
