/**
 * The states of a sandbox, apart from the record schema so that readers which never validate a record
 * (`sandboxer list` over records it has seen before) need not load zod to filter by state.
 * provisioning → ready → destroying → destroyed, or → failed (after rollback) with its cause.
 * A failed destroy stays `destroying` so that `destroy` can be retried.
 */
export const SANDBOX_STATES = ['provisioning', 'ready', 'destroying', 'destroyed', 'failed'] as const;

/** States in which a sandbox may still hold resources somewhere. */
export const LIVE_STATES: ReadonlySet<(typeof SANDBOX_STATES)[number]> = new Set([
  'provisioning',
  'ready',
  'destroying',
]);
