/**
 * @module serving/compatibility
 * Whether a version can take over the requests another version serves, before any request goes
 * to it: a hot swap (a promotion moved the alias or stage a server follows), a canary or a shadow
 * beside the primary. The callers of the served version keep sending what it took: entity keys
 * whose features `/predict` looks up by its feature references, rows by column name, rows and
 * tensors by position. A version that cannot take one of those would fail or, worse, silently
 * misread every such request; the swap is refused instead, naming each difference. Categories
 * are compared only for a shadow, which scores the primary's encoded rows.
 */
import type { ServingModel } from './model.js';

const list = (names: readonly string[]) => names.join(', ');

export interface ConflictOptions {
  /** The server has a feature store, so `/predict` looks features up by entity keys. */
  lookups: boolean;
  /**
   * `next` takes the rows `served` encoded (a shadow): its categories must have the same codes.
   * A version that replaces another encodes its own requests, and a category it does not know is
   * the input policy's to report or refuse, so a retraining that recodes them is not refused.
   */
  sameCodes?: boolean;
}

/** What stops `next` from serving the requests `served` serves; empty when nothing does. */
export function servingConflicts(
  served: ServingModel,
  next: ServingModel,
  { lookups, sameCodes = false }: ConflictOptions,
): string[] {
  const was = served.info;
  const now = next.info;
  const from = `version ${was.version}`;
  const conflicts: string[] = [];
  if (now.task !== was.task)
    conflicts.push(`it answers ${now.task} scores where ${from} answers ${was.task} scores`);
  if (lookups && was.featureRefs.length > 0 && was.features.length > 0) {
    if (now.featureRefs.length === 0 || now.features.length === 0)
      conflicts.push(
        `it names no features to look up, while ${from} serves /predict by entity keys (${list(was.featureRefs)})`,
      );
    else {
      const added = now.featureRefs.filter((r) => !was.featureRefs.includes(r));
      const dropped = was.featureRefs.filter((r) => !now.featureRefs.includes(r));
      if (added.length > 0 || dropped.length > 0)
        conflicts.push(
          `it looks up other features than ${from}: ${[
            ...(added.length ? [`adds ${list(added)}`] : []),
            ...(dropped.length ? [`drops ${list(dropped)}`] : []),
          ].join('; ')}`,
        );
    }
  }
  if (was.features.length > 0) {
    if (now.features.length === 0)
      conflicts.push(
        `it takes its inputs by position only, while callers of ${from} send columns by name (${list(was.features)})`,
      );
    else {
      const unsent = now.features.filter((f) => !was.features.includes(f));
      if (unsent.length > 0)
        conflicts.push(`it needs columns that callers of ${from} do not send: ${list(unsent)}`);
      for (const column of now.columns) {
        const old = was.columns.find((c) => c.name === column.name);
        if (!old) continue;
        if (old.type !== column.type)
          conflicts.push(`column '${column.name}' is a ${column.type} where ${from} takes a ${old.type}`);
        else if (sameCodes && old.categories?.some((c, i) => column.categories?.[i] !== c))
          conflicts.push(
            `column '${column.name}' codes its categories otherwise than ${from}, whose encoded rows it would take`,
          );
      }
      if (
        unsent.length === 0 &&
        now.features.length === was.features.length &&
        now.features.some((f, i) => f !== was.features[i])
      )
        conflicts.push(
          `it takes its columns in another order than ${from} (${list(now.features)} against ${list(was.features)}): rows and tensors sent by position would be misread`,
        );
    }
  }
  if (next.width !== served.width)
    conflicts.push(`it takes ${next.width} values a row where ${from} takes ${served.width}`);
  return conflicts;
}
