import { setTimeout as sleep } from 'node:timers/promises';
import { ProvisionError } from '../../../errors.js';
import type { Reachability } from '../../../records/handle.js';
import type { RemoteHost } from '../../../records/host-target.js';
import type { SshSession } from '../../../ssh/session.js';
import { destination } from '../../../ssh/target.js';
import type { OperationOptions } from '../../contract.js';
import { type ComposeRuntime, composeRuntime, inspectProjectCommand, logsTailCommand } from './commands.js';
import type { ComposeHandle } from './stack.js';
import { type ContainerStatus, parseContainers, pollDelayMs, readiness } from './status.js';

const LOG_LINES = 20;

/**
 * Polls the stack until every service it waits for runs (and is healthy, where it has a healthcheck),
 * then reports how to reach it. A service that stops fails at once; one that is not ready by the
 * handle's `wait_timeout` fails then; either way with the tail of each unready service's log.
 */
export async function waitUntilReady(
  session: SshSession,
  handle: ComposeHandle,
  host: RemoteHost,
  options: OperationOptions = {},
): Promise<Reachability> {
  const runtime = composeRuntime(handle.compose_command);
  const timeoutSeconds = handle.wait_timeout;
  const deadline = Date.now() + timeoutSeconds * 1000;
  let lastReport = '';
  for (;;) {
    // The host's clock first (`now <ms>`), so the next health check can be timed on it.
    const output = await session.run(
      `printf 'now %s\\n' "$(date +%s%3N)"; ${inspectProjectCommand(runtime, handle.compose_project)}`,
      { what: 'inspecting the stack' },
    );
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
      const why = state.failed.length > 0 ? 'stopped' : `not ready after ${timeoutSeconds} s`;
      throw new ProvisionError(
        `services ${why}: ${state.notReady.map((s) => `${s.service} (${s.status})`).join(', ')}\n${await logTails(session, runtime, state.notReady)}`,
      );
    }
    const report = state.notReady.map((s) => `${s.service} (${s.status})`).join(', ');
    if (report !== lastReport) options.progress?.(`waiting for ${report}`);
    lastReport = report;
    // Readiness is usually a healthcheck flipping: look again just after the next one has run.
    const delay = pollDelayMs(state.notReady, Number.isFinite(hostNow) ? hostNow : undefined);
    await sleep(delay, undefined, { signal: options.signal });
  }
}

/** The last lines of each unready service's log, for the error that says it is not ready. */
async function logTails(
  session: SshSession,
  runtime: ComposeRuntime,
  services: ContainerStatus[],
): Promise<string> {
  const parts: string[] = [];
  for (const s of services) {
    if (!s.id) continue;
    const result = await session.exec(logsTailCommand(runtime, s.id, LOG_LINES), {
      maxOutputBytes: 8 * 1024,
      what: 'reading logs',
    });
    parts.push(
      `--- ${s.service}: last ${LOG_LINES} log lines ---\n${result.stdout.trimEnd() || '(no output)'}`,
    );
  }
  return parts.join('\n');
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
