/**
 * @module registry/protection
 * The way down, governed (policy `protection:`): a step that moves a version out of Production,
 * deletes a version or model holding Production or a protected alias, moves a protected alias,
 * deletes model files or rolls back needs the role the policy names. The check runs inside the
 * step's transaction, on the state it changes; a refusal is audited in its own transaction.
 */
import { isKeelError, KeelError } from '../core/index.js';
import type { SqlExecutor } from '../storage/index.js';
import type { NewAuditEntry } from './audit.js';
import type { RegistryContext } from './context.js';
import { can, roleFor } from './identity.js';
import { isProtectedAlias, type Policy, type Protection, protectionOf } from './policy.js';

export type ProtectedStep = Exclude<keyof Protection, 'aliases'>;

/**
 * @throws KeelError PERMISSION_DENIED (`details.protection` names the step) when the actor's role
 *   does not reach what the policy asks for `step`.
 */
export function requireProtected(ctx: RegistryContext, step: ProtectedStep, action: string): void {
  const permission = protectionOf(ctx.policy)[step];
  if (can(ctx.actor, permission)) return;
  throw new KeelError(
    'PERMISSION_DENIED',
    `User '${ctx.actor.user}' with role '${ctx.actor.role}' may not ${action}: the governance policy (protection.${step}) asks for the '${roleFor(permission)}' role`,
    { details: { protection: step } },
  );
}

/**
 * What makes versions of `name` protected: `Production` and the protected aliases they hold
 * (`version` alone, or the whole model when omitted), e.g. `['Production', "alias 'champion'"]`.
 */
export async function heldProtection(
  tx: SqlExecutor,
  policy: Policy,
  name: string,
  version?: number,
): Promise<string[]> {
  const one = version === undefined ? '' : ' AND version = ?';
  const args = version === undefined ? [name] : [name, version];
  const production = await tx.get(
    `SELECT 1 AS x FROM model_versions WHERE name = ? AND current_stage = 'Production'${one}`,
    args,
  );
  const aliases = await tx.all<{ alias: string }>(
    `SELECT alias FROM registered_model_aliases WHERE name = ?${one} ORDER BY alias`,
    args,
  );
  return [
    ...(production ? ['Production'] : []),
    ...aliases.filter((a) => isProtectedAlias(policy, a.alias)).map((a) => `alias '${a.alias}'`),
  ];
}

/** Runs `step`; when `requireProtected` refused it, records the refusal in the audit log. */
export async function auditRefusal<T>(
  ctx: RegistryContext,
  entry: Omit<NewAuditEntry, 'ts' | 'actor' | 'outcome' | 'reason'> & { reason?: string },
  step: () => Promise<T>,
): Promise<T> {
  try {
    return await step();
  } catch (err) {
    if (isKeelError(err, 'PERMISSION_DENIED') && err.details?.protection) {
      await ctx.audit.append({
        ...entry,
        reason: entry.reason ?? '',
        ts: ctx.clock.now(),
        actor: ctx.actor.user,
        outcome: 'refused',
      });
    }
    throw err;
  }
}
