/**
 * @module registry/context
 * What every registry store shares: the database, the clock, the acting user, the audit log and
 * the webhook dispatcher. A Registry bound to another user gets a new context over the same parts.
 */
import type { ArtifactStore } from '../artifacts/index.js';
import { type Clock, KeelError } from '../core/index.js';
import type { SqlDatabase, SqlExecutor } from '../storage/index.js';
import type { Tracking } from '../tracking/index.js';
import type { AuditLog } from './audit.js';
import type { WebhookDispatcher } from './delivery.js';
import { type Actor, type Permission, requirePermission } from './identity.js';
import type { Policy } from './policy.js';

export interface RegistryContext {
  db: SqlDatabase;
  clock: Clock;
  actor: Actor;
  audit: AuditLog;
  events: WebhookDispatcher;
  tracking: Tracking;
  artifacts: ArtifactStore;
  /** The alias that follows the Production stage (`champion` by default), or null for none. */
  productionAlias: string | null;
  /** The governance policy: gates, approvals and what the way down needs. */
  policy: Policy;
  /** Acting for an HTTP caller: sources come from the artifact store only (registry/source). */
  remote: boolean;
  /** @throws PERMISSION_DENIED when the actor's role does not allow `permission`. */
  require(permission: Permission, action: string): void;
}

export function makeContext(parts: Omit<RegistryContext, 'require'>): RegistryContext {
  return { ...parts, require: (permission, action) => requirePermission(parts.actor, permission, action) };
}

export const modelNotFound = (name: string): KeelError =>
  new KeelError('RESOURCE_DOES_NOT_EXIST', `Registered Model with name=${name} not found`);

export const versionNotFound = (name: string, version: number | string): KeelError =>
  new KeelError('RESOURCE_DOES_NOT_EXIST', `Model Version (name=${name}, version=${version}) not found`);

/** Upserts a key/value tag row; `owner` holds the key columns and their values. */
export async function upsertTag(
  tx: SqlExecutor,
  table: string,
  owner: Record<string, string | number>,
  key: string,
  value: string,
): Promise<void> {
  const cols = Object.keys(owner);
  await tx.run(
    `INSERT INTO ${table} (${cols.join(', ')}, key, value) VALUES (${cols.map(() => '?').join(', ')}, ?, ?)
     ON CONFLICT (${cols.join(', ')}, key) DO UPDATE SET value = excluded.value`,
    [...Object.values(owner), key, value],
  );
}

/** @throws INVALID_PARAMETER_VALUE for an empty key or a key or value over MLflow's limits. */
export function validateRegistryTag(key: unknown, value: unknown): void {
  if (typeof key !== 'string' || key === '' || key.length > 250) {
    throw new KeelError(
      'INVALID_PARAMETER_VALUE',
      `Tag key must be a string of 1 to 250 characters, got '${String(key)}'`,
    );
  }
  if (typeof value !== 'string' || value.length > 5000) {
    throw new KeelError(
      'INVALID_PARAMETER_VALUE',
      `Tag '${key}' must have a string value of at most 5000 characters`,
    );
  }
}
