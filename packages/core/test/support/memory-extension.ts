import { z } from 'zod';
import { SshError } from '../../src/errors.js';
import type { ExtensionContext, ProvisionRequest, SandboxExtension } from '../../src/extensions/contract.js';
import { parseInputs } from '../../src/extensions/inputs.js';
import type { CleanupReport, Reachability, SandboxHandle } from '../../src/records/handle.js';
import type { MeterActual, MeterQuote, Usage } from '../../src/records/metering.js';

const inputsSchema = z.looseObject({
  name: z.string().min(1),
  /** Failure injection for tests: which step throws. */
  fail_at: z.enum(['none', 'provision', 'provision_after_create', 'wait_ready', 'teardown']).default('none'),
});

/**
 * The in-memory reference extension: the smallest honest implementation of the contract, used to
 * test the manager and to prove the conformance suite itself. Its "resources" are entries in a Map
 * shared by every instance, so tests can check what is left.
 */
type MemoryInputs = z.infer<typeof inputsSchema>;

export class MemoryExtension implements SandboxExtension<MemoryInputs> {
  // Kept on globalThis: the catalog imports this module by file URL, the tests by path, and the two
  // may be distinct module instances; both must see the same resources.
  static readonly resources: Map<string, { name: string }> = sharedResources();
  readonly id: string;
  readonly hostKind: 'local' | 'ssh' = 'local';

  constructor(context?: Pick<ExtensionContext, 'declaration'>) {
    this.id = context?.declaration.id ?? 'ext.memory';
  }

  validateInputs(inputs: Record<string, string>): MemoryInputs {
    return parseInputs(this.id, inputsSchema, inputs);
  }

  async provision(request: ProvisionRequest<MemoryInputs>): Promise<SandboxHandle> {
    const failAt = request.inputs.fail_at;
    if (failAt === 'provision') throw new Error('injected provision failure');
    MemoryExtension.resources.set(request.sandboxId, { name: request.inputs.name });
    if (failAt === 'provision_after_create') throw new Error('injected failure after creating resources');
    return { sandbox_id: request.sandboxId, host: 'local', fail_at: failAt };
  }

  async waitReady(handle: SandboxHandle): Promise<Reachability> {
    if (handle.fail_at === 'wait_ready') throw new Error('injected wait_ready failure');
    if (!MemoryExtension.resources.has(handle.sandbox_id)) throw new Error('resource vanished');
    return { host: 'local', remote_dir: `memory://${handle.sandbox_id}` };
  }

  async teardown(handle: SandboxHandle): Promise<CleanupReport> {
    if (handle.fail_at === 'teardown') throw new Error('injected teardown failure');
    const existed = MemoryExtension.resources.delete(handle.sandbox_id);
    return {
      removed: existed ? [`memory://${handle.sandbox_id}`] : [],
      leftovers: [],
      already_gone: !existed,
    };
  }

  estimateCost(_profile: unknown, durationSeconds: number): MeterQuote {
    return { credits: Math.ceil(durationSeconds / 60), rate: 1, unit: 'minute', breakdown: {} };
  }

  meterActual(_handle: SandboxHandle, usage: Usage): MeterActual {
    const duration = (usage.destroyedAt.getTime() - usage.createdAt.getTime()) / 1000;
    return { credits: Math.ceil(duration / 60), duration, breakdown: {} };
  }
}

function sharedResources(): Map<string, { name: string }> {
  const global = globalThis as { __sbxMemoryResources?: Map<string, { name: string }> };
  global.__sbxMemoryResources ??= new Map();
  return global.__sbxMemoryResources;
}

export const createMemoryExtension = (context: ExtensionContext) => new MemoryExtension(context);

/**
 * The same, as if it ran on SSH hosts: routing resolves a host (or a pool) for it, and a host
 * named in `unreachable_hosts` (comma-separated) fails like a host whose sshd is down.
 */
export class MemoryHostExtension extends MemoryExtension {
  override readonly hostKind = 'ssh';

  override async provision(request: ProvisionRequest<MemoryInputs>): Promise<SandboxHandle> {
    const host = request.host?.name ?? '?';
    const unreachable = String((request.inputs as Record<string, unknown>).unreachable_hosts ?? '').split(
      ',',
    );
    if (unreachable.includes(host)) {
      throw new SshError(`cannot reach ${host}:22: connection refused`, 'connect', { host });
    }
    await new Promise((resolve) => setTimeout(resolve, 5));
    const handle = await super.provision(request);
    return { ...handle, host, ...(request.host ? { target: request.host } : {}) };
  }
}

export const createMemoryHostExtension = (context: ExtensionContext) => new MemoryHostExtension(context);
