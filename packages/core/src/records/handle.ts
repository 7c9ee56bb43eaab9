import { z } from 'zod';

/**
 * What an extension returns from `provision` and gets back for every later call. It is stored in the
 * state file, so it must be plain JSON and must never hold a secret (keys are re-read when needed).
 */
export const sandboxHandleSchema = z.looseObject({
  sandbox_id: z.string(),
  /** Where the sandbox lives: `local`, a hosts-file alias or `user@address:port`. */
  host: z.string(),
  /** The resolved host (present in the minimal handle the manager builds for rollback). */
  target: z.looseObject({ name: z.string() }).optional(),
});
export type SandboxHandle = z.infer<typeof sandboxHandleSchema>;

/** How to reach a ready sandbox. Extensions fill in what applies to them. */
export const reachabilitySchema = z.looseObject({
  host: z.string().optional(),
  ssh: z.string().optional(),
  remote_dir: z.string().optional(),
  compose_project: z.string().optional(),
  /** Named endpoints, e.g. `{ "web:8080": "http://127.0.0.1:49153" }`. */
  endpoints: z.record(z.string(), z.string()).optional(),
});
export type Reachability = z.infer<typeof reachabilitySchema>;

/** What teardown removed, and what it could not (with how to remove it by hand). */
export const cleanupReportSchema = z.object({
  removed: z.array(z.string()),
  leftovers: z.array(z.string()).default([]),
  already_gone: z.boolean().default(false),
});
export type CleanupReport = z.infer<typeof cleanupReportSchema>;
