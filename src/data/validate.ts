/**
 * @module data/validate
 * The checks alone: over a staged batch (what `ingest` uses), or over files or a DuckDB relation
 * for any caller that wants a verdict without writing anything.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import { invalid, type ProgressFn, shortId } from '../core/index.js';
import { checkColumns } from './column-checks.js';
import { parseDatasetSpec } from './spec-schema.js';
import { ident, withDuckDB } from './sql.js';
import { fileSources, type StagedBatch, type StageSource, stageSources } from './stage.js';
import { checkPresence, checkRepeats, checkVolume } from './table-checks.js';
import type { CheckResult, ColumnSpec, DataFormat, ValidationRules } from './types.js';

export interface ValidationResult {
  rows: number;
  /** True when every check passed. */
  passed: boolean;
  checks: CheckResult[];
}

/** Runs every check over a staged batch. `earlierRows` are the row counts of earlier ingests. */
export async function checkStaged(
  conn: DuckDBConnection,
  staged: StagedBatch,
  columns: ColumnSpec[],
  rules: ValidationRules,
  earlierRows: number[],
  onProgress?: ProgressFn,
): Promise<ValidationResult> {
  const absent = new Set(staged.sources.flatMap((s) => s.missing));
  // A column missing from the input fails `columns`; checking its (all-NULL) values would only add noise.
  const present = columns.filter((c) => !absent.has(c.name));
  const progress = (info: string) =>
    onProgress?.({ label: 'validate', done: staged.rows, total: staged.rows, unit: 'rows', info });

  const checks = checkPresence(staged.sources, rules);
  const { rows, checks: columnChecks } = await checkColumns(
    conn,
    staged.table,
    present,
    rules,
    staged.sources,
  );
  checks.push(...columnChecks);
  progress('column checks');
  if (present.length > 0) {
    checks.push(
      await checkRepeats(
        conn,
        staged.table,
        present.map((c) => c.name),
        rows,
        { check: 'duplicates', threshold: rules.maxDuplicateShare },
        staged.sources,
      ),
    );
  }
  const key = rules.uniqueKey;
  if (key?.every((k) => !absent.has(k))) {
    checks.push(
      await checkRepeats(
        conn,
        staged.table,
        key,
        rows,
        { check: 'unique_key', threshold: 0 },
        staged.sources,
      ),
    );
  }
  progress('duplicates');
  checks.push(...checkVolume(rows, rules, earlierRows));
  return { rows, passed: checks.every((c) => c.passed), checks };
}

export interface ValidateOptions {
  columns: ColumnSpec[];
  rules?: ValidationRules;
  /** Input files to check (give these, or `connection` and `relation`). */
  paths?: string[];
  format?: DataFormat;
  rename?: Record<string, string>;
  /** Texts that mean a missing value, besides the empty text. */
  nullValues?: string[];
  /** A connection on which `relation` can be read. */
  connection?: DuckDBConnection;
  /** A table or view name, or a parenthesised query, e.g. `(SELECT * FROM t WHERE day = 3)`. */
  relation?: string;
  /** Row counts of earlier batches, for `rules.volume.maxChangeShare`. */
  earlierRows?: number[];
  onProgress?: ProgressFn;
}

/**
 * Checks files or a DuckDB relation against columns and rules, writing nothing.
 * @throws KeelError INVALID_PARAMETER_VALUE for an invalid spec, neither or both of paths and
 * relation, or an unreadable file; RESOURCE_DOES_NOT_EXIST for a missing file.
 */
export async function validate(options: ValidateOptions): Promise<ValidationResult> {
  const spec = parseDatasetSpec(options, 'dataset spec');
  const hasRelation = options.connection !== undefined && options.relation !== undefined;
  if (hasRelation === (options.paths !== undefined)) {
    throw invalid('validate needs either paths, or a connection and a relation, not both');
  }
  const run = async (conn: DuckDBConnection, sources: StageSource[]) => {
    const table = `__keel_validate_${shortId()}`;
    try {
      const staged = await stageSources(conn, table, sources, spec.columns, {
        rename: spec.rename,
        nullValues: spec.nullValues,
        onProgress: options.onProgress,
      });
      return await checkStaged(
        conn,
        staged,
        spec.columns,
        spec.rules ?? {},
        options.earlierRows ?? [],
        options.onProgress,
      );
    } finally {
      await conn.run(`DROP TABLE IF EXISTS ${ident(table)}`);
    }
  };
  if (hasRelation) {
    return run(options.connection!, [{ name: options.relation!, fromSql: options.relation! }]);
  }
  const sources = fileSources(options.paths!, spec.format);
  return withDuckDB((conn) => run(conn, sources));
}
