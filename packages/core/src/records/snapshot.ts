import { z } from 'zod';

const timestamp = z.iso.datetime();

/**
 * Where a copy of a snapshot's artifact is kept: on the host the sandbox ran on (SSH extensions keep
 * it there, next to the sandbox directories), or in this machine's local store. A snapshot may have
 * several copies; every one has the same sha256.
 */
export const snapshotLocationSchema = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('host'),
    /** The hosts-file alias or `user@address:port` the copy lives on. */
    host: z.string(),
    /** The resolved host (no secrets), so any process can reach it again. */
    target: z.looseObject({ name: z.string() }),
    path: z.string(),
  }),
  z.object({ kind: z.literal('local'), path: z.string() }),
]);
export type SnapshotLocation = z.infer<typeof snapshotLocationSchema>;

/** One named volume captured from a compose stack: its compose key, the service and path it was mounted at. */
export const capturedVolumeSchema = z.object({
  key: z.string(),
  service: z.string(),
  path: z.string(),
});

/** What the artifact holds. */
export const snapshotContentsSchema = z.object({
  workspace: z.boolean(),
  volumes: z.array(capturedVolumeSchema).default([]),
});
export type SnapshotContents = z.infer<typeof snapshotContentsSchema>;

/** creating → ready, or → failed (nothing kept); ready → deleted (artifacts removed). */
export const snapshotStatusSchema = z.enum(['creating', 'ready', 'failed', 'deleted']);

/** The record of one snapshot, as the state store keeps it and `--json` prints it. */
export const snapshotRecordSchema = z.object({
  id: z.string(),
  name: z.string().optional(),
  status: snapshotStatusSchema,
  /** The sandbox it was taken from (which may be destroyed since). */
  sandbox_id: z.string(),
  profile: z.string(),
  extension: z.string(),
  host: z.string(),
  account: z.string().optional(),
  created_at: timestamp,
  updated_at: timestamp,
  size_bytes: z.number().int().nonnegative().optional(),
  /** Of the artifact file, hex; verified before any restore. */
  sha256: z
    .string()
    .regex(/^[0-9a-f]{64}$/)
    .optional(),
  locations: z.array(snapshotLocationSchema).default([]),
  contents: snapshotContentsSchema.optional(),
  /** How services were held still while the capture ran, and for how long. */
  consistency: z.enum(['pause', 'stop', 'none']).optional(),
  paused_ms: z.number().int().nonnegative().optional(),
  /** The non-secret inputs a restore needs to bring the stack back (never `env`: values may be secret). */
  inputs: z.record(z.string(), z.string()).default({}),
  /** What keeping it cost (metered backends that charge for storage). */
  cost: z
    .object({ credits: z.number().nonnegative(), breakdown: z.record(z.string(), z.number()).default({}) })
    .optional(),
  error: z.object({ code: z.string(), message: z.string() }).optional(),
});
export type SnapshotRecord = z.infer<typeof snapshotRecordSchema>;
