import { join } from 'node:path';
import type {
  CacheFinding,
  CachePruneOptions,
  ExtensionContext,
  HostFinding,
  ProvisionRequest,
  SandboxExtension,
} from '../../src/extensions/contract.js';
import type { CleanupReport, Reachability, SandboxHandle } from '../../src/records/handle.js';
import type { HostTarget } from '../../src/records/host-target.js';
import { source } from '../support/fixtures.js';

/**
 * What a test makes the scan extension do. Kept on globalThis, like MemoryExtension.resources: the
 * catalog imports this module by file URL, the tests by path.
 */
export interface ScanHooks {
  /** What `findSandboxes` answers for a host (throw to fail the scan). */
  find: (host: HostTarget) => Promise<HostFinding[]>;
  /** What `pruneCaches` answers (throw to fail it); records its calls in `pruned`. */
  prune: (host: HostTarget, options: CachePruneOptions) => Promise<CacheFinding[]>;
  pruned: Array<{ host: string; olderThanMinutes: number; dryRun: boolean }>;
  /** What `reschedule` answers; records its calls in `rescheduled`. */
  reschedule: (handle: SandboxHandle, expiresAt: Date) => Promise<boolean>;
  /** Sandbox ids whose teardown reports a leftover, and ids whose teardown throws. */
  leftovers: Set<string>;
  throws: Set<string>;
  /** Every teardown call, in order. */
  teardowns: SandboxHandle[];
  rescheduled: Array<{ handle: SandboxHandle; expiresAt: Date }>;
}

export function scanHooks(): ScanHooks {
  const global = globalThis as { __sbxScanHooks?: ScanHooks };
  global.__sbxScanHooks ??= freshHooks();
  return global.__sbxScanHooks;
}

/** Back to a scan that finds nothing and a switch that always moves. */
export function resetScanHooks(): void {
  Object.assign(scanHooks(), freshHooks());
}

function freshHooks(): ScanHooks {
  return {
    find: async () => [],
    prune: async () => [],
    pruned: [],
    reschedule: async () => true,
    leftovers: new Set(),
    throws: new Set(),
    teardowns: [],
    rescheduled: [],
  };
}

/**
 * A stand-in for an SSH extension (compose-ssh, vm-packer): it needs a host, finds sandboxes on
 * hosts and moves a host-side expiry, all through the hooks. Nothing here talks to a host: the SSH
 * boundary is exactly what it replaces.
 */
export class ScanExtension implements SandboxExtension {
  readonly id: string;
  readonly hostKind = 'ssh' as const;

  constructor(context: Pick<ExtensionContext, 'declaration'>) {
    this.id = context.declaration.id;
  }

  validateInputs(inputs: Record<string, string>): Record<string, string> {
    return inputs;
  }

  async provision(request: ProvisionRequest): Promise<SandboxHandle> {
    return { sandbox_id: request.sandboxId, host: request.host?.name ?? 'unknown' };
  }

  async waitReady(): Promise<Reachability> {
    return {};
  }

  async teardown(handle: SandboxHandle): Promise<CleanupReport> {
    const hooks = scanHooks();
    hooks.teardowns.push(handle);
    if (hooks.throws.has(handle.sandbox_id)) throw new Error(`cannot reach ${handle.host}`);
    if (hooks.leftovers.has(handle.sandbox_id)) {
      return { removed: [], leftovers: [`container of ${handle.sandbox_id}`], already_gone: false };
    }
    return { removed: [`sbx-${handle.sandbox_id}`], leftovers: [], already_gone: false };
  }

  findSandboxes(host: HostTarget): Promise<HostFinding[]> {
    return scanHooks().find(host);
  }

  pruneCaches(host: HostTarget, options: CachePruneOptions): Promise<CacheFinding[]> {
    scanHooks().pruned.push({
      host: host.name,
      olderThanMinutes: options.olderThanMinutes,
      dryRun: options.dryRun === true,
    });
    return scanHooks().prune(host, options);
  }

  reschedule(handle: SandboxHandle, expiresAt: Date): Promise<boolean> {
    scanHooks().rescheduled.push({ handle, expiresAt });
    return scanHooks().reschedule(handle, expiresAt);
  }
}

export const createScanExtension = (context: ExtensionContext) => new ScanExtension(context);

/** `ext.scan` and `profile.scan` (10 min, at most an hour). */
export const scanDeclarations = [
  source(
    'extension',
    'extensions/ext.scan.yaml',
    `id: ext.scan
title: Host scan stand-in
handler: ${join(import.meta.dirname, 'scan-extension.ts')}:createScanExtension
capabilities:
  isolation_levels: [directory]
  pricing_model: self-hosted
`,
  ),
  source(
    'profile',
    'profiles/profile.scan.yaml',
    'description: host scan stand-in\nextension: ext.scan\nttl: 10m\nmax_ttl: 1h\n',
  ),
];
