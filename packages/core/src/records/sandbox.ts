import { z } from 'zod';
import { cleanupReportSchema, reachabilitySchema, sandboxHandleSchema } from './handle.js';
import { meterActualSchema, meterQuoteSchema } from './metering.js';
import { SANDBOX_STATES } from './sandbox-states.js';
import { createTimingsSchema } from './timings.js';

/** See states.ts for what each state means. */
export const sandboxStateSchema = z.enum(SANDBOX_STATES);
export type SandboxState = z.infer<typeof sandboxStateSchema>;

export { LIVE_STATES } from './sandbox-states.js';

const timestamp = z.iso.datetime();

export const sandboxErrorSchema = z.object({
  code: z.string(),
  message: z.string(),
  /** The step that failed: validate, provision, wait_ready, teardown. */
  step: z.string(),
});

/** A keeper process: where it runs, and the local URLs it forwards (`web:8080` → its URL). */
export const keeperSchema = z.object({
  pid: z.number().int().positive(),
  /** The machine it runs on (its host name): only a process there can stop it. */
  machine: z.string(),
  started_at: timestamp,
  forwards: z.record(z.string(), z.string()).default({}),
});
export type Keeper = z.infer<typeof keeperSchema>;

/** The record of one sandbox as the state store keeps it and `--json` prints it. */
export const sandboxRecordSchema = z.object({
  id: z.string(),
  state: sandboxStateSchema,
  profile: z.string(),
  extension: z.string(),
  host: z.string(),
  consumer: z.string(),
  created_at: timestamp,
  updated_at: timestamp,
  /** When provision returned (so reports can split provisioning from waiting for readiness). */
  provisioned_at: timestamp.optional(),
  ready_at: timestamp.optional(),
  /** When each phase of its create ended: accepted → connected → synced → up → ready (timings.ts). */
  timings: createTimingsSchema.optional(),
  destroyed_at: timestamp.optional(),
  expires_at: timestamp,
  ttl_seconds: z.number().int().positive(),
  /** The lease, when the sandbox has one: torn down if not renewed for this long (see --lease). */
  lease_seconds: z.number().int().positive().optional(),
  /**
   * The last renewal of the lease that arrived (its keeper's, through this store); the lease runs
   * from `ready_at` until the first. See records/lease.ts for the deadline.
   */
  lease_renewed_at: timestamp.optional(),
  /** The resolved host (no secrets), kept so any process can reconnect to tear the sandbox down. */
  target: z.looseObject({ name: z.string() }).optional(),
  handle: sandboxHandleSchema.optional(),
  reachability: reachabilitySchema.optional(),
  cleanup: cleanupReportSchema.optional(),
  error: sandboxErrorSchema.optional(),
  /** The credits account that pays for it. */
  account: z.string().optional(),
  /** The estimate made before it was created (metered extensions). */
  estimate: meterQuoteSchema.optional(),
  /** The ledger hold reserving the estimate, released when it is destroyed or fails. */
  hold: z.string().optional(),
  /** Routing candidates tried before the chosen one, with why each was skipped. */
  routing: z
    .array(
      z.object({
        extension: z.string(),
        host: z.string(),
        /** The pool the host belongs to, when the request named a pool. */
        pool: z.string().optional(),
        reasons: z.array(z.string()),
      }),
    )
    .optional(),
  /** What the sandbox cost, metered when it was destroyed (metered extensions only). */
  cost: meterActualSchema.optional(),
  /** The snapshot it was created from, or last restored in place from. */
  restored_from: z.string().optional(),
  /** The process working on the sandbox right now, so a stuck one can be told from a busy one. */
  owner_pid: z.number().int().optional(),
  /** The detached keeper that forwards its ports (`forward --detach`, the action): destroy stops it. */
  keeper: keeperSchema.optional(),
});

export type SandboxRecord = z.infer<typeof sandboxRecordSchema>;
