/**
 * Where a sandbox lives, as records keep it: plain JSON without secrets, so any process can reach
 * the host again from a stored record (keys are referred to by path, or passed in at connect time).
 */

/**
 * The host the user asked for, resolved from the request's host or a hosts-file alias (`RemoteHost` for SSH
 * extensions). Plain JSON without secrets: the manager stores it in the record so a later process
 * can tear the sandbox down even if provision never returned a handle.
 */
export interface HostTarget {
  name: string;
  [field: string]: unknown;
}

/**
 * Everything needed to open an SSH connection. It is stored in sandbox handles, so it holds no
 * secret: a key is referred to by file path, or comes as text from the environment at connect time.
 */
export interface SshTarget {
  address: string;
  port: number;
  user: string;
  /** Path to a private key file on this machine. */
  identity_file?: string;
  /** A known_hosts file the host key must be listed in. */
  known_hosts?: string;
  /** A pinned host key fingerprint, `SHA256:…` as `ssh-keygen -lf` prints it. */
  fingerprint?: string;
  /** Skip host key verification (explicit opt-in; a warning is printed). */
  insecure_ignore_host_key?: boolean;
  /**
   * A host to connect through first (`ProxyJump` in ~/.ssh/config; one hop): the connection to this
   * target is a channel its sshd opens. Verified and logged in to like any target.
   */
  jump?: SshTarget;
}

/** A host an SSH-based extension can work on, as the manager hands it over. */
export interface RemoteHost extends HostTarget {
  /** The alias, or `user@address:port` for an inline host. */
  name: string;
  ssh: SshTarget;
  base_dir?: string;
  capacity?: number;
  /** Floors a create checks first (bytes): free disk under the base dir, available memory. */
  min_free_disk?: number;
  min_free_memory?: number;
  labels: string[];
  /** The pool it was chosen from, when the request named a pool. */
  pool?: string;
}
