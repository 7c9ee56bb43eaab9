import { setTimeout as sleep } from 'node:timers/promises';
import { ProvisionError } from '../../../errors.js';
import type { Reachability } from '../../../records/handle.js';
import type { RemoteHost } from '../../../records/host-target.js';
import type { SshSession } from '../../../ssh/session.js';
import { destination } from '../../../ssh/target.js';
import type { OperationOptions } from '../../contract.js';
import { composeRuntime } from './commands.js';
import { describeServices, overdueHealthchecks } from './diagnose.js';
import type { ComposeHandle } from './stack.js';
import { StackPoller } from './stack-poller.js';
import { type ContainerStatus, parseContainers, pollDelayMs, readiness } from './status.js';

/**
 * Polls the stack until every service it waits for runs (and is healthy, where it has a healthcheck),
 * then reports how to reach it. A service that stops fails at once; one that is not ready by the
 * deadline fails then; either way naming each unready service, with its last health checks and the
 * tail of its log. The deadline is the one `up` started (`ready_by`): wait_timeout bounds the whole
 * of up and readiness, not each.
 */
export async function waitUntilReady(
  session: SshSession,
  handle: ComposeHandle,
  host: RemoteHost,
  options: OperationOptions = {},
): Promise<Reachability> {
  const runtime = composeRuntime(handle.compose_command);
  const timeoutSeconds = handle.wait_timeout;
  const readyBy = Date.parse(handle.ready_by ?? '');
  const deadline = Number.isFinite(readyBy) ? readyBy : Date.now() + timeoutSeconds * 1000;
  let lastReport = '';
  let overdue: string[] = [];
  // One command on the host for the whole wait: each poll is a line to it and its answer.
  const poller = await StackPoller.open(session, runtime, handle.compose_project);
  try {
    for (;;) {
      // The host's clock first (`now <ms>`), so the next health check can be timed on it; before it,
      // the health checks Podman should have run and did not (see overdueHealthchecks).
      const output = await poller.poll(overdue);
      const hostNow = Number(/^now (\d{13})$/m.exec(output)?.[1]);
      const containers = parseContainers(output);
      const state = readiness(handle.services, containers);
      if (state.ready) {
        return {
          host: host.name,
          ssh: `ssh://${destination(host.ssh)}`,
          remote_dir: handle.remote_dir,
          compose_project: handle.compose_project,
          endpoints: endpointsOf(containers, host.ssh.address),
        };
      }
      if (state.failed.length > 0 || Date.now() > deadline) {
        const why =
          state.failed.length > 0 ? 'stopped' : `not ready after ${timeoutSeconds} s (wait_timeout)`;
        throw new ProvisionError(
          `services ${why}: ${list(state.notReady)}\n${await describeServices(session, runtime, state.notReady)}`,
          { services: state.notReady.map((s) => s.service) },
        );
      }
      const report = list(state.notReady);
      if (report !== lastReport) options.progress?.(`waiting for ${report}`);
      lastReport = report;
      overdue =
        runtime.engine === 'podman' && Number.isFinite(hostNow)
          ? overdueHealthchecks(state.notReady, hostNow)
          : [];
      // Readiness is usually a healthcheck flipping: look again just after the next one has run.
      const delay =
        overdue.length > 0 ? 50 : pollDelayMs(state.notReady, Number.isFinite(hostNow) ? hostNow : undefined);
      await sleep(delay, undefined, { signal: options.signal });
    }
  } finally {
    poller.close();
  }
}

function list(services: ContainerStatus[]): string {
  return services.map((s) => `${s.service} (${s.status})`).join(', ');
}

/** `service:port` → `address:port` of every published TCP port (IPv4 bindings). */
export function endpointsOf(containers: ContainerStatus[], hostAddress: string): Record<string, string> {
  const endpoints: Record<string, string> = {};
  for (const c of containers) {
    for (const [port, bindings] of Object.entries(c.ports)) {
      const binding = bindings?.find((b) => !b.HostIp?.includes(':'));
      if (!binding) continue;
      const ip = !binding.HostIp || binding.HostIp === '0.0.0.0' ? hostAddress : binding.HostIp;
      endpoints[`${c.service}:${port.replace('/tcp', '')}`] = `${ip}:${binding.HostPort}`;
    }
  }
  return endpoints;
}
