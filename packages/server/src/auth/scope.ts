import {
  AuthError,
  accountOf,
  NotFoundError,
  type SandboxRecord,
  type SnapshotRecord,
} from '@sand-boxer/core';
import type { Principal } from './principal.js';

/**
 * What a principal may see and do. A member works inside its account: it sees only that account's
 * sandboxes and snapshots (someone else's is "not found", as if it did not exist), creates and
 * spends only from it, and reads only its credits. An admin sees and does everything.
 */

/** The account a sandbox pays from (records from before accounts: its consumer's). */
export function accountOfSandbox(record: Pick<SandboxRecord, 'account' | 'consumer'>): string {
  return record.account ?? accountOf(record.consumer);
}

export function canSee(principal: Principal, account: string | undefined): boolean {
  return principal.role === 'admin' || (account !== undefined && account === principal.account);
}

/** The record if the principal may see it, else the same NotFoundError a missing one gets. */
export function visibleSandbox(principal: Principal, record: SandboxRecord, idText: string): SandboxRecord {
  if (canSee(principal, accountOfSandbox(record))) return record;
  throw new NotFoundError(`no sandbox "${idText}"`, { sandbox: idText });
}

export function visibleSnapshot(principal: Principal, record: SnapshotRecord, ref: string): SnapshotRecord {
  if (canSee(principal, record.account)) return record;
  throw new NotFoundError(`no snapshot "${ref}"`, { snapshot: ref });
}

/**
 * The account a create, restore or route is for: a member's own (naming another is refused), an
 * admin's choice (else its own account, else whatever the consumer implies).
 */
export function spendingAccount(principal: Principal, asked: string | undefined): string | undefined {
  if (principal.role === 'admin') return asked ?? principal.account;
  if (asked !== undefined && asked !== principal.account) {
    throw new AuthError('FORBIDDEN', `this token works for account "${principal.account}", not "${asked}"`, {
      field: 'account',
    });
  }
  return principal.account;
}

/** Reading one account's credits: a member only its own. */
export function requireAccount(principal: Principal, account: string): void {
  if (!canSee(principal, account)) {
    throw new AuthError(
      'FORBIDDEN',
      `this token works for account "${principal.account}", not "${account}"`,
      {
        account,
      },
    );
  }
}

export function requireAdmin(principal: Principal, what: string): void {
  if (principal.role !== 'admin') {
    throw new AuthError(
      'FORBIDDEN',
      `${what} needs an admin token (this one is a member of "${principal.account}")`,
    );
  }
}
