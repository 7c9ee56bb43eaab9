import { z } from 'zod';
import { isValidAddress } from '../ssh/target.js';
import { durationSchema } from '../util/duration.js';
import { sizeSchema } from '../util/size.js';

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
  /** A create on this host first checks it has this much free disk under its base dir (`2g`). */
  min_free_disk: sizeSchema.optional(),
  /** … and this much available memory (`512m`). */
  min_free_memory: sizeSchema.optional(),
  labels: z.array(z.string().min(1)).default([]),
});

export const PLACEMENTS = ['least-loaded', 'spread', 'pack'] as const;

/**
 * A pool: hosts that act as one big host, named wherever an alias is accepted. Members are listed,
 * or are every host with one of the labels.
 */
export const poolEntrySchema = z
  .strictObject({
    hosts: z.array(z.string().min(1)).min(1).optional(),
    labels: z.array(z.string().min(1)).min(1).optional(),
    /**
     * least-loaded: the host with the lowest share of its capacity in use; spread: the one with the
     * fewest live sandboxes; pack: the fullest one that still has room (keeps others free).
     */
    placement: z.enum(PLACEMENTS).default('least-loaded'),
    /** How long a host that failed a create is skipped before it is tried (probed) again. */
    cooldown: durationSchema.default(60),
  })
  .refine((p) => (p.hosts === undefined) !== (p.labels === undefined), {
    message: 'give exactly one of hosts (aliases) and labels',
  });

const aliasSchema = z.string().regex(/^[a-z0-9][a-z0-9_-]*$/i, 'expected an alias like "docker-1"');

export const hostsFileSchema = z.strictObject({
  /** The host (or pool) used when `--host` is not given. */
  default: z.string().optional(),
  hosts: z.record(aliasSchema, hostEntrySchema),
  pools: z.record(aliasSchema, poolEntrySchema).default({}),
});

export type HostEntry = z.infer<typeof hostEntrySchema>;
export type PoolEntry = z.infer<typeof poolEntrySchema>;
export type Placement = (typeof PLACEMENTS)[number];
export type HostsFile = z.infer<typeof hostsFileSchema>;
