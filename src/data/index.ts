/**
 * @module data
 * Ingestion and validation: read CSV, Parquet and JSON through DuckDB, check a batch against its
 * declared columns and rules, and store accepted batches as Parquet partitions of a dataset.
 */

export { DUCKDB_TYPES, typedSelectList, typedSql } from './casts.js';
export {
  type ColumnInfo,
  type DatasetDetails,
  type DatasetSummary,
  type FilePreview,
  listDatasets,
  previewFile,
  removeDataset,
  showDataset,
} from './catalog.js';
export {
  type CsvDialect,
  type CsvOptions,
  csvDialect,
  csvOptionsSchema,
  csvReaderSql,
  describeDialect,
  requireFile,
} from './csv.js';
export {
  datasetDigest,
  datasetDir,
  datasetGlob,
  datasetHistory,
  type IngestHistoryEntry,
} from './dataset.js';
export { type DuckDBModule, loadDuckDB } from './duckdb-module.js';
export { detectFormat, fileColumns, readerSql } from './formats.js';
export { ingest } from './ingest.js';
export { encodeParquet, type ParquetColumn, type ParquetType } from './parquet-encode.js';
export { fileDigest, writeEncodedPartition, writePartition } from './partition.js';
export { formatCheck, formatReport } from './report.js';
export { loadSchemaFile, parseSchemaText } from './schema-file.js';
export {
  columnSpecSchema,
  type DatasetSpec,
  datasetSpecSchema,
  parseDatasetSpec,
  rulesSchema,
} from './spec-schema.js';
export { ident, literal, prefetchedChunks, queryRows, type Row, withDuckDB } from './sql.js';
export type {
  CheckExample,
  CheckResult,
  ColumnSpec,
  ColumnType,
  DataFormat,
  IngestOptions,
  IngestReport,
  ValidationRules,
} from './types.js';
export { type ValidateOptions, type ValidationResult, validate } from './validate.js';
