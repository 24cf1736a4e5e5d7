/**
 * @module registry/lifecycle
 * Stages and aliases, as transaction steps. One invariant ties them together: the production
 * alias (`champion` by default) always names the newest Production version, and is absent when
 * there is none, so `models:/x@champion` and `models:/x/Production` resolve to the same version.
 * A stage change re-points it here; setting it moves its version to Production (registry/promotion),
 * after which it is re-pointed the same way. Every step runs under the model's row lock, so
 * concurrent promotions take turns.
 */
import type { SqlExecutor } from '../storage/index.js';
import type { RegistryContext } from './context.js';
import { versionNotFound } from './context.js';
import type { Stage } from './types.js';

/**
 * Points the production alias at the newest Production version, or removes it.
 * @returns the version it named before, if any.
 */
export async function syncProductionAlias(
  tx: SqlExecutor,
  name: string,
  alias: string | null,
): Promise<number | undefined> {
  if (!alias) return undefined;
  const before = await aliasVersion(tx, name, alias);
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
  return before;
}

export interface StageChange {
  from: Stage;
  to: Stage;
  /** Versions moved to Archived because `archiveExisting` was set. */
  archived: number[];
  /** The version the production alias named before the change. */
  previousAlias?: number;
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
  const previousAlias = await syncProductionAlias(tx, name, ctx.productionAlias);
  return { from: row.current_stage, to: stage, archived, previousAlias };
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

/**
 * Points `alias` at `version` in one statement (an existing alias moves atomically); the caller
 * validated the name and holds the model's lock.
 * @returns the version it pointed at before, if any.
 */
export async function setAlias(
  tx: SqlExecutor,
  name: string,
  alias: string,
  version: number,
): Promise<number | undefined> {
  const before = await aliasVersion(tx, name, alias);
  await tx.run(
    `INSERT INTO registered_model_aliases (name, alias, version) VALUES (?, ?, ?)
     ON CONFLICT (name, alias) DO UPDATE SET version = excluded.version`,
    [name, alias, version],
  );
  return before;
}

/** Removes `alias`. @returns the version it pointed at, or undefined when it was not set. */
export async function deleteAlias(tx: SqlExecutor, name: string, alias: string): Promise<number | undefined> {
  const before = await aliasVersion(tx, name, alias);
  if (before !== undefined)
    await tx.run('DELETE FROM registered_model_aliases WHERE name = ? AND alias = ?', [name, alias]);
  return before;
}
