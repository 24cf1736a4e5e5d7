/**
 * @module features/pit-sql
 * The SQL of point-in-time retrieval. Each view's rows are joined onto the entity rows with an
 * `ASOF LEFT JOIN` (the latest row at or before the event), then its TTL decides whether that
 * row counts. With `asOfCreated`, a range join also requires the row to have been created by then.
 */

import { ident } from '../data/index.js';
import type { FeatureView } from './definitions.js';
import { type PathContext, SQL_TYPES, sourceRelation } from './duck.js';
import type { ResolvedRefs } from './refs.js';

/** The temporary table holding the entity rows. */
export const ENTITY = '__keel_entity';

/**
 * The one tie rule, shared by the point-in-time join and materialization, as an ORDER BY tail after
 * `__ts DESC`: among rows of one entity with the same event timestamp, the latest created wins (a
 * row without a created timestamp loses to one with it); rows equal on both are ordered by their
 * feature values in schema order, greatest first, nulls last. Every row of the source takes part,
 * so the winner does not depend on file order, threads or which features a request reads.
 */
export function tieBreak(view: FeatureView, alias = ''): string {
  const col = (c: string) => `${alias}${c}`;
  return [
    `${col('__created')} DESC NULLS LAST`,
    ...Object.keys(view.schema).map((f) => `${col(ident(f))} DESC NULLS LAST`),
  ].join(', ');
}

/**
 * The feature rows of one view as (keys, `__ts`, `__created`, features); rows without a timestamp
 * or a join key are dropped. With `dedupe`, one row per (keys, timestamp), chosen by `tieBreak`;
 * without, every feature of the view is kept so a later `tieBreak` can see them all.
 */
export function viewRowsSql(
  view: FeatureView,
  features: readonly string[],
  ctx: PathContext,
  dedupe = true,
): string {
  const { timestampField: ts, createdTimestampField: created } = view.source;
  const all = Object.keys(view.schema);
  const keys = view.entities.map(
    (e) => `CAST(${ident(e.joinKey)} AS ${SQL_TYPES[e.valueType]}) AS ${ident(e.joinKey)}`,
  );
  const cols = all.map((f) => `CAST(${ident(f)} AS ${SQL_TYPES[view.schema[f]]}) AS ${ident(f)}`);
  const createdCol = created ? `CAST(${ident(created)} AS TIMESTAMP)` : 'NULL::TIMESTAMP';
  const present = [ts, ...view.entities.map((e) => e.joinKey)].map((c) => `${ident(c)} IS NOT NULL`);
  const rows = `SELECT ${[...keys, `CAST(${ident(ts)} AS TIMESTAMP) AS __ts`, `${createdCol} AS __created`, ...cols].join(', ')}
    FROM ${sourceRelation(view.source, ctx)} WHERE ${present.join(' AND ')}`;
  if (!dedupe) return rows;
  const partition = [...view.entities.map((e) => ident(e.joinKey)), '__ts'].join(', ');
  const out = [...view.entities.map((e) => ident(e.joinKey)), '__ts', '__created', ...features.map(ident)];
  return `SELECT ${out.join(', ')} FROM (${rows})
    QUALIFY row_number() OVER (PARTITION BY ${partition} ORDER BY ${tieBreak(view)}) = 1`;
}

/**
 * The SELECT that joins every requested view onto the entity rows, in their order. Features come
 * out as `view__feature` columns.
 */
export function joinSql(
  refs: ResolvedRefs,
  entityColumns: string[],
  eventColumn: string,
  ctx: PathContext,
  asOfCreated: boolean,
): string {
  const event = `CAST(e.${ident(eventColumn)} AS TIMESTAMP)`;
  const ctes = [`e AS (SELECT row_number() OVER () AS __row, * FROM ${ENTITY})`];
  const joins: string[] = [];
  // The event column stays a TIMESTAMP (UTC), so a training set written to Parquet keeps its type.
  const selected = entityColumns.map((c) =>
    c === eventColumn ? `${event} AS ${ident(c)}` : `e.${ident(c)}`,
  );
  [...refs.views.values()].forEach(({ view, features }, i) => {
    const v = `v${i}`;
    const keyEq = (alias: string) =>
      view.entities
        .map(
          (en) =>
            `CAST(e.${ident(en.joinKey)} AS ${SQL_TYPES[en.valueType]}) = ${alias}.${ident(en.joinKey)}`,
        )
        .join(' AND ');
    // Feast keeps a row exactly `ttl` old: event_ts >= entity_ts - ttl (its offline SQL templates).
    const fresh =
      view.ttl > 0
        ? `${v}.__ts >= ${event} - to_microseconds(${Math.round(view.ttl * 1e6)}::BIGINT)`
        : `${v}.__ts IS NOT NULL`;
    if (asOfCreated && view.source.createdTimestampField) {
      // Rows created after the event are excluded before picking the latest, so no ASOF here.
      ctes.push(`r${i} AS (${viewRowsSql(view, features, ctx, false)})`);
      ctes.push(`${v} AS (SELECT e.__row, r.* FROM e JOIN r${i} r ON ${keyEq('r')}
        AND r.__ts <= ${event} AND r.__created <= ${event}
        QUALIFY row_number() OVER (PARTITION BY e.__row ORDER BY r.__ts DESC, ${tieBreak(view, 'r.')}) = 1)`);
      joins.push(`LEFT JOIN ${v} ON ${v}.__row = e.__row`);
    } else {
      // ASOF finds each entity row's key and timestamp on the raw rows; the tie rule then runs
      // only on the rows at that (key, timestamp), not as a sort of the whole source. The source
      // is read twice rather than materialized (the ASOF needs only keys and timestamps), and the
      // second join matches on the keys ASOF found instead of joining the entity rows again.
      const keys = view.entities.map((en) => ident(en.joinKey));
      const sameKeys = keys.map((k) => `t.${k} = r.${k}`).join(' AND ');
      ctes.push(`r${i} AS NOT MATERIALIZED (${viewRowsSql(view, features, ctx, false)})`);
      ctes.push(`t${i} AS (SELECT e.__row, r.__ts, ${keys.map((k) => `r.${k}`).join(', ')} FROM e
        ASOF JOIN (SELECT ${keys.join(', ')}, __ts FROM r${i}) r ON ${keyEq('r')} AND ${event} >= r.__ts)`);
      ctes.push(`${v} AS (SELECT t.__row, r.* FROM t${i} t
        JOIN r${i} r ON ${sameKeys} AND r.__ts = t.__ts
        QUALIFY row_number() OVER (PARTITION BY t.__row ORDER BY ${tieBreak(view, 'r.')}) = 1)`);
      joins.push(`LEFT JOIN ${v} ON ${v}.__row = e.__row`);
    }
    // The join found the latest row at or before the event; the TTL decides whether it counts.
    for (const f of features)
      selected.push(`CASE WHEN ${fresh} THEN ${v}.${ident(f)} END AS ${ident(`${view.name}__${f}`)}`);
  });
  return `WITH ${ctes.join(',\n')} SELECT ${selected.join(', ')} FROM e ${joins.join(' ')} ORDER BY e.__row`;
}
