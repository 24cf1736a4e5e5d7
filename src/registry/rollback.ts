/**
 * @module registry/rollback
 * Rollback as a transaction step, and its rehearsal: the rollback drill gate promotes the
 * candidate and rolls back inside a transaction that is always rolled back, so the drill runs
 * the real code path and leaves nothing behind. The previous Production version is read from the
 * audit log: the newest applied move to Production of a version that still exists.
 */
import { KeelError } from '../core/index.js';
import type { SqlExecutor } from '../storage/index.js';
import type { RegistryContext } from './context.js';
import { applyStage } from './lifecycle.js';
import { lockModel, type VersionRow } from './rows.js';

/** The newest Production version, leaving out `except`. */
export async function productionRow(
  exec: SqlExecutor,
  name: string,
  except?: number,
): Promise<VersionRow | undefined> {
  return exec.get<VersionRow>(
    "SELECT * FROM model_versions WHERE name = ? AND current_stage = 'Production' AND version <> ? ORDER BY version DESC LIMIT 1",
    [name, except ?? 0],
  );
}

/**
 * Inside `tx`: archives the Production version (`current`, or the newest) and restores the one
 * that held Production before it.
 * @throws FAILED_PRECONDITION when there is no Production version or no earlier one.
 */
export async function rollbackIn(
  ctx: RegistryContext,
  tx: SqlExecutor,
  name: string,
  current?: number,
): Promise<{ from: number; to: number }> {
  const top = current ?? (await productionRow(tx, name))?.version;
  if (top === undefined) {
    throw new KeelError(
      'FAILED_PRECONDITION',
      `Registered model '${name}' has no Production version to roll back`,
    );
  }
  const earlier = await tx.get<{ version: number }>(
    `SELECT a.version FROM registry_audit a JOIN model_versions v ON v.name = a.name AND v.version = a.version
     WHERE a.name = ? AND a.to_value = 'Production' AND a.outcome = 'applied' AND a.version <> ? ORDER BY a.id DESC LIMIT 1`,
    [name, Number(top)],
  );
  if (!earlier) {
    throw new KeelError(
      'FAILED_PRECONDITION',
      `Registered model '${name}' has no earlier Production version to roll back to`,
    );
  }
  const to = Number(earlier.version);
  await applyStage(ctx, tx, name, to, 'Production', true);
  return { from: Number(top), to };
}

/** Promotes `version` and rolls back, in a transaction that never commits: the version it restores. */
export async function rehearseRollback(
  ctx: RegistryContext,
  name: string,
  version: number,
): Promise<{ restored: number | undefined }> {
  // A KeelError, because the PostgreSQL adapter rewraps anything else; recognized by identity.
  const rollBack = new KeelError('INVALID_STATE', 'rollback rehearsal: always rolled back');
  let restored: number | undefined;
  try {
    await ctx.db.transaction(async (tx) => {
      await lockModel(tx, name, ctx.clock.now());
      await applyStage(ctx, tx, name, version, 'Production', true);
      restored = (await rollbackIn(ctx, tx, name, version)).to;
      throw rollBack;
    });
  } catch (err) {
    if (err !== rollBack) throw err;
  }
  return { restored };
}
