import { z } from 'zod';

const timestamp = z.iso.datetime();

/** A hosts-file alias: the only name a host status may have (it becomes a file name). */
export function isHostAlias(name: string): boolean {
  return /^[a-z0-9][a-z0-9_-]*$/i.test(name);
}

/**
 * What the state store remembers about one host of the hosts file, so every process (and every
 * replica) sees it alike: drained by an operator, resting after a failed create, last probed.
 */
export const hostStatusSchema = z.object({
  /** The hosts-file alias. */
  host: z.string().refine(isHostAlias, 'expected a hosts-file alias'),
  /** No new sandboxes go there; the ones there live on. */
  drained: z.boolean().default(false),
  drained_at: timestamp.optional(),
  /** After a create failed there for a host-level reason: skipped until then, then tried again. */
  unhealthy_until: timestamp.optional(),
  last_error: z.object({ at: timestamp, message: z.string() }).optional(),
  /** The last resource probe (`sandboxer hosts probe`; a create checks its floors without recording them). */
  probe: z
    .object({
      at: timestamp,
      free_disk_bytes: z.number().nonnegative().optional(),
      free_memory_bytes: z.number().nonnegative().optional(),
      error: z.string().optional(),
    })
    .optional(),
  updated_at: timestamp,
});
export type HostStatus = z.infer<typeof hostStatusSchema>;
