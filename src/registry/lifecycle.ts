/**
 * @module registry/lifecycle
 * Stages and aliases, as transaction steps. One invariant ties them together: the production
 * alias (`champion` by default) always names the newest Production version, and is absent when
 * there is none, so `models:/x@champion` and `models:/x/Production` resolve to the same version.
 * Every step runs under the model's row lock, so concurrent promotions take turns.
 */
import { KeelError } from '../core/index.js';
import type { SqlExecutor } from '../storage/index.js';
import type { RegistryContext } from './context.js';
import { versionNotFound } from './context.js';
import { validateAlias } from './names.js';
import type { Stage } from './types.js';

/** Points the production alias at the newest Production version, or removes it. */
export async function syncProductionAlias(
  tx: SqlExecutor,
  name: string,
  alias: string | null,
): Promise<void> {
  if (!alias) return;
  const top = await tx.get<{ v: number | null }>(
    "SELECT MAX(version) AS v FROM model_versions WHERE name = ? AND current_stage = 'Production'",
    [name],
  );
  await tx.run('DELETE FROM registered_model_aliases WHERE name = ? AND alias = ?', [name, alias]);
  if (top?.v != null) {
    await tx.run('INSERT INTO registered_model_aliases (name, alias, version) VALUES (?, ?, ?)', [
      name,
      alias,
      top.v,
    ]);
  }
}

export interface StageChange {
  from: Stage;
  to: Stage;
  /** Versions moved to Archived because `archiveExisting` was set. */
  archived: number[];
}

/**
 * Moves one version to `stage` inside `tx` (the caller holds the model's lock). With
 * `archiveExisting`, other versions in Staging or Production's target stage become Archived.
 */
export async function applyStage(
  ctx: RegistryContext,
  tx: SqlExecutor,
  name: string,
  version: number,
  stage: Stage,
  archiveExisting: boolean,
): Promise<StageChange> {
  const row = await tx.get<{ current_stage: Stage }>(
    'SELECT current_stage FROM model_versions WHERE name = ? AND version = ?',
    [name, version],
  );
  if (!row) throw versionNotFound(name, version);
  const now = ctx.clock.now();
  const archived: number[] = [];
  if (archiveExisting && (stage === 'Staging' || stage === 'Production')) {
    const others = await tx.all<{ version: number }>(
      'SELECT version FROM model_versions WHERE name = ? AND current_stage = ? AND version <> ?',
      [name, stage, version],
    );
    for (const o of others) archived.push(Number(o.version));
    await tx.run(
      "UPDATE model_versions SET current_stage = 'Archived', stage_since = ?, last_updated_timestamp = ? WHERE name = ? AND current_stage = ? AND version <> ?",
      [now, now, name, stage, version],
    );
  }
  if (row.current_stage !== stage) {
    await tx.run(
      'UPDATE model_versions SET current_stage = ?, stage_since = ?, last_updated_timestamp = ? WHERE name = ? AND version = ?',
      [stage, now, now, name, version],
    );
  }
  await syncProductionAlias(tx, name, ctx.productionAlias);
  return { from: row.current_stage, to: stage, archived };
}

/** The version an alias points at, or undefined. */
export async function aliasVersion(
  exec: SqlExecutor,
  name: string,
  alias: string,
): Promise<number | undefined> {
  const row = await exec.get<{ version: number }>(
    'SELECT version FROM registered_model_aliases WHERE name = ? AND alias = ?',
    [name, alias],
  );
  return row ? Number(row.version) : undefined;
}

function refuseProductionAlias(ctx: RegistryContext, alias: string): void {
  if (ctx.productionAlias && alias.toLowerCase() === ctx.productionAlias.toLowerCase()) {
    throw new KeelError(
      'FAILED_PRECONDITION',
      `Alias '${alias}' follows the Production stage: promote the version to Production instead of setting it`,
    );
  }
}

/**
 * Points `alias` at `version` in one statement (an existing alias moves atomically).
 * @returns the version it pointed at before, if any.
 * @throws INVALID_PARAMETER_VALUE for a bad alias name; FAILED_PRECONDITION for the production alias.
 */
export async function setAlias(
  ctx: RegistryContext,
  tx: SqlExecutor,
  name: string,
  alias: string,
  version: number,
): Promise<number | undefined> {
  validateAlias(alias);
  refuseProductionAlias(ctx, alias);
  const before = await aliasVersion(tx, name, alias);
  await tx.run(
    `INSERT INTO registered_model_aliases (name, alias, version) VALUES (?, ?, ?)
     ON CONFLICT (name, alias) DO UPDATE SET version = excluded.version`,
    [name, alias, version],
  );
  return before;
}

/** @throws RESOURCE_DOES_NOT_EXIST when the alias is not set. */
export async function deleteAlias(
  ctx: RegistryContext,
  tx: SqlExecutor,
  name: string,
  alias: string,
): Promise<number> {
  refuseProductionAlias(ctx, alias);
  const before = await aliasVersion(tx, name, alias);
  if (before === undefined) {
    throw new KeelError(
      'RESOURCE_DOES_NOT_EXIST',
      `Registered model alias ${alias} not found on model '${name}'`,
    );
  }
  await tx.run('DELETE FROM registered_model_aliases WHERE name = ? AND alias = ?', [name, alias]);
  return before;
}
