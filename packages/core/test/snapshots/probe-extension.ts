import { join } from 'node:path';
import type {
  ExtensionContext,
  RestoreSource,
  RestoreTarget,
  SnapshotArtifact,
  SnapshotRequest,
} from '../../src/extensions/contract.js';
import type { SandboxHandle } from '../../src/records/handle.js';
import { source } from '../support/fixtures.js';
import { MemoryExtension } from '../support/memory-extension.js';

/** What a test makes the probe's snapshot and restore do (see probeHooks). */
export interface ProbeHooks {
  snapshot?: (handle: SandboxHandle, request: SnapshotRequest) => Promise<SnapshotArtifact>;
  restore?: (source: RestoreSource, target: RestoreTarget) => Promise<SandboxHandle>;
}

/**
 * The hooks every ProbeExtension instance calls. Kept on globalThis for the same reason as
 * MemoryExtension.resources: the catalog imports this module by file URL, the tests by path.
 */
export function probeHooks(): ProbeHooks {
  const global = globalThis as { __sbxProbeHooks?: ProbeHooks };
  global.__sbxProbeHooks ??= {};
  return global.__sbxProbeHooks;
}

/**
 * The in-memory reference extension plus snapshot/restore hooks the test supplies, so a test can
 * look at the state store from inside the extension call, or make the call fail.
 */
export class ProbeExtension extends MemoryExtension {
  async snapshot(handle: SandboxHandle, request: SnapshotRequest): Promise<SnapshotArtifact> {
    const hook = probeHooks().snapshot;
    if (!hook) throw new Error('probe: no snapshot hook set');
    return hook(handle, request);
  }

  async restore(source: RestoreSource, target: RestoreTarget): Promise<SandboxHandle> {
    const hook = probeHooks().restore;
    if (!hook) throw new Error('probe: no restore hook set');
    return hook(source, target);
  }
}

export const createProbeExtension = (context: ExtensionContext) => new ProbeExtension(context);

/**
 * `ext.probe` (snapshot-capable, self-hosted) with `profile.probe`, and `ext.memory-snap`: declared
 * `snapshot: true` but handled by MemoryExtension, which has no snapshot/restore.
 */
export const probeDeclarations = [
  source(
    'extension',
    'extensions/ext.probe.yaml',
    `id: ext.probe
title: Snapshot probe
handler: ${join(import.meta.dirname, 'probe-extension.ts')}:createProbeExtension
capabilities:
  isolation_levels: [directory]
  pricing_model: self-hosted
  snapshot: true
inputs:
  name: {}
  fail_at: {}
  services: {}
  env: {}
`,
  ),
  source(
    'profile',
    'profiles/profile.probe.yaml',
    'description: snapshot probe\nextension: ext.probe\nttl: 10m\ninputs:\n  required: [name]\n',
  ),
  source(
    'extension',
    'extensions/ext.memory-snap.yaml',
    `id: ext.memory-snap
title: Claims snapshots, has none
handler: ${join(import.meta.dirname, '..', 'support', 'memory-extension.ts')}:createMemoryExtension
capabilities:
  isolation_levels: [directory]
  pricing_model: self-hosted
  snapshot: true
`,
  ),
  source(
    'profile',
    'profiles/profile.memory-snap.yaml',
    'description: claims snapshots\nextension: ext.memory-snap\nttl: 10m\ninputs:\n  required: [name]\n',
  ),
];
