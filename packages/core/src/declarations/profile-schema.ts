import { z } from 'zod';
import { durationSchema } from '../util/duration.js';
import { extensionIdSchema, inputNameSchema, isolationLevelSchema } from './extension-schema.js';

/** Inputs are strings on the wire (`--input k=v`); YAML numbers and booleans are accepted and stringified. */
const inputValueSchema = z.union([z.string(), z.number(), z.boolean()]).transform(String);

/** One place the router may send a sandbox of this profile; evaluated in order (see docs/routing.md). */
export const routingCandidateSchema = z.strictObject({
  extension: extensionIdSchema,
  host: z.string().min(1).optional(),
  isolation: isolationLevelSchema.optional(),
  max_cost: z.number().nonnegative().optional(),
  /** At most this many live sandboxes of this profile on this candidate at once (a burst cap). */
  max_live: z.number().int().positive().optional(),
});

/** What a snapshot of a sandbox of this profile captures, and how services are held still meanwhile. */
export const snapshotOptionsSchema = z.strictObject({
  capture: z
    .array(z.enum(['workspace', 'volumes']))
    .min(1)
    .default(['workspace', 'volumes']),
  consistency: z.enum(['pause', 'stop']).default('pause'),
});

/** The schema of `profiles/profile.<slug>.yaml`; the profile id comes from the file name. */
export const profileDeclarationSchema = z
  .strictObject({
    description: z.string().min(1),
    extension: extensionIdSchema,
    /** Default lifetime of a sandbox; `--ttl` may override it up to `max_ttl`. */
    ttl: durationSchema.default(3600),
    max_ttl: durationSchema.optional(),
    inputs: z
      .strictObject({
        required: z.array(inputNameSchema).default([]),
        defaults: z.record(inputNameSchema, inputValueSchema).default({}),
      })
      .default({ required: [], defaults: {} }),
    routing: z.strictObject({ candidates: z.array(routingCandidateSchema).min(1) }).optional(),
    /**
     * Readiness beyond container health, checked from the host once the services are up:
     * `http://web:8080/health` (a 2xx), `tcp://db:5432`, `log://worker/ready to accept/`.
     */
    wait_for: z.array(z.string().min(1).max(1000)).max(20).default([]),
    /** How long the `wait_for` checks may take in all. */
    wait_for_timeout: durationSchema.default(120),
    snapshot: snapshotOptionsSchema.optional(),
  })
  .refine((p) => p.max_ttl === undefined || p.ttl <= p.max_ttl, {
    path: ['ttl'],
    message: 'must not be longer than max_ttl',
  });

export type ProfileDeclaration = z.infer<typeof profileDeclarationSchema>;

/** A loaded profile: its declaration plus the id taken from its file name. */
export interface Profile extends ProfileDeclaration {
  id: string;
}
