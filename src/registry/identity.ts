/**
 * @module registry/identity
 * Who is acting and what their role lets them do. Roles nest: a writer can read, an approver can
 * write, an admin can do everything, including overriding a failed gate (with a written reason).
 * Embedded use, with no server and no token, acts as the local OS user with admin rights: the
 * person at the keyboard already owns the files.
 */
import { userInfo } from 'node:os';
import { KeelError } from '../core/index.js';

export const ROLES = ['reader', 'writer', 'approver', 'admin'] as const;
export type Role = (typeof ROLES)[number];
export type Permission = 'read' | 'write' | 'approve' | 'override';

export interface Actor {
  user: string;
  role: Role;
}

const NEEDS: Record<Permission, Role> = {
  read: 'reader',
  write: 'writer',
  approve: 'approver',
  override: 'admin',
};

/** The least role that grants `permission`. */
export const roleFor = (permission: Permission): Role => NEEDS[permission];

export function can(actor: Actor, permission: Permission): boolean {
  return ROLES.indexOf(actor.role) >= ROLES.indexOf(NEEDS[permission]);
}

/** @throws KeelError PERMISSION_DENIED naming the user, their role and the action. */
export function requirePermission(actor: Actor, permission: Permission, action: string): void {
  if (!can(actor, permission)) {
    throw new KeelError(
      'PERMISSION_DENIED',
      `User '${actor.user}' with role '${actor.role}' may not ${action}: it needs the '${NEEDS[permission]}' role`,
    );
  }
}

/** The local OS user as an admin: the identity of embedded use. */
export function localActor(): Actor {
  let user: string;
  try {
    user = userInfo().username;
  } catch {
    user = process.env.USER ?? 'local';
  }
  return { user, role: 'admin' };
}
