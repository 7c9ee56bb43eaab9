/** Who a request acts for, once its credential is checked. */
export type Role = 'member' | 'admin';

export interface Principal {
  role: Role;
  /**
   * The credits account it creates and spends from. A member sees only this account's sandboxes,
   * snapshots and credits; an admin sees all (its own creates still pay from its account, if set).
   */
  account?: string;
  /** How it logged in, for the request log: never the credential itself. */
  label: string;
}

/** A server without credentials (loopback only): whoever can reach it may do anything. */
export const LOCAL_ADMIN: Principal = { role: 'admin', label: 'local (no tokens)' };
