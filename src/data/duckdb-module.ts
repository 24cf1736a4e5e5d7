/**
 * @module data/duckdb-module
 * `@duckdb/node-api`, loaded at first use. Importing it loads DuckDB's native library (57 MB
 * mapped), which took 0.3-0.7 s here: a process that never opens a DuckDB, as `keel serve` does
 * not since the prediction log encodes its own Parquet, should not pay it at start. Modules a
 * server imports (data/sql, ml/load, monitoring/drift-table, serving/batch-writer) import its
 * types statically (erased) and its values through `loadDuckDB`; those only loaded by the commands
 * that use them (features/duck, the demo) import it directly. test/cli/commands/serve.test.ts
 * fails when a server maps DuckDB's library.
 */
export type DuckDBModule = typeof import('@duckdb/node-api');

let loading: Promise<DuckDBModule> | undefined;

/** The `@duckdb/node-api` module, imported once. */
export function loadDuckDB(): Promise<DuckDBModule> {
  loading ??= import('@duckdb/node-api');
  return loading;
}
