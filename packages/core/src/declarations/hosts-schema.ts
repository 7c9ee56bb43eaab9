import { z } from 'zod';
import { isValidAddress } from '../ssh/target.js';

/** One host in `.sandboxer/hosts.yaml` (or `$SANDBOXER_HOSTS`). Paths may start with `~/`. */
export const hostEntrySchema = z.strictObject({
  address: z
    .string()
    .refine(
      isValidAddress,
      'expected a host name or IP address (letters, digits, dots, dashes; IPv6 without brackets)',
    ),
  port: z.number().int().min(1).max(65_535).default(22),
  user: z.string().regex(/^[a-z_][a-z0-9_.-]{0,31}$/i, 'expected a user name like "deploy"'),
  identity_file: z.string().min(1).optional(),
  known_hosts: z.string().min(1).optional(),
  fingerprint: z
    .string()
    .regex(
      /^SHA256:[A-Za-z0-9+/]{43}$/,
      'expected "SHA256:<43 base64 characters>" as printed by ssh-keygen -lf',
    )
    .optional(),
  insecure_ignore_host_key: z.boolean().default(false),
  /** Parent directory of sandbox directories on this host (overrides the extension's default). */
  base_dir: z.string().min(1).optional(),
  /** At most this many live sandboxes at once on this host. */
  capacity: z.number().int().positive().optional(),
  labels: z.array(z.string().min(1)).default([]),
});

export const hostsFileSchema = z.strictObject({
  /** The host used when `--host` is not given. */
  default: z.string().optional(),
  hosts: z.record(
    z.string().regex(/^[a-z0-9][a-z0-9_-]*$/i, 'expected an alias like "docker-1"'),
    hostEntrySchema,
  ),
});

export type HostEntry = z.infer<typeof hostEntrySchema>;
export type HostsFile = z.infer<typeof hostsFileSchema>;
