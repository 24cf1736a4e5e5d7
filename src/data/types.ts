/**
 * @module data/types
 * The shapes ingestion and validation share with their callers (the feature store, the CLI):
 * column specs, rules, check results and the ingest report.
 */
import type { Clock, ProgressFn } from '../core/index.js';
import type { CsvOptions } from './csv.js';

/** The column types a dataset may declare; each maps to one DuckDB type in the stored Parquet. */
export type ColumnType = 'int64' | 'float64' | 'string' | 'bool' | 'timestamp' | 'date';

/** One declared column of a dataset. */
export interface ColumnSpec {
  name: string;
  type: ColumnType;
  /** Whether missing values are allowed at all. Default true. */
  nullable?: boolean;
  /** Smallest allowed value (numbers only), inclusive. */
  min?: number;
  /** Largest allowed value (numbers only), inclusive. */
  max?: number;
  /** The only values a string column may hold. */
  allowed?: string[];
  /**
   * A strptime format for timestamp and date columns (e.g. `%d/%m/%Y %H:%M`); default ISO 8601.
   * Timestamps are stored in UTC: a value with an offset is converted, one without is taken as UTC.
   */
  format?: string;
  /** This column's limit on the share of missing values (0..1); overrides `rules.maxMissingShare`. */
  maxMissingShare?: number;
}

/** Batch-level thresholds. A batch breaking any of them is rejected whole. */
export interface ValidationRules {
  /**
   * Largest share (0..1) of missing values in a nullable column. Default: no limit (the share is
   * still reported). Non-nullable columns allow none, whatever this says.
   */
  maxMissingShare?: number;
  /** Largest share (0..1) of rows that repeat an earlier row exactly. Default: no limit (reported). */
  maxDuplicateShare?: number;
  /** Columns whose combined values must be unique within the batch. */
  uniqueKey?: string[];
  volume?: {
    /** Fewest rows a batch may have. Default 1: an empty batch is rejected. */
    minRows?: number;
    /** Largest relative change (0..1) of the row count against the mean of earlier accepted ingests. */
    maxChangeShare?: number;
  };
  /** Columns in the input but not in the spec: dropped (default, and reported) or a rejection. */
  extraColumns?: 'drop' | 'reject';
}

export type DataFormat = 'csv' | 'parquet' | 'json';

export interface IngestOptions {
  /** Keel's home folder; the dataset goes under `<home>/offline/<dataset>/`. */
  home: string;
  /** The dataset's name: letters, digits, `_`, `-` and `.`. */
  dataset: string;
  /** Input files (CSV, optionally gzipped; Parquet; JSON or NDJSON). */
  paths: string[];
  columns: ColumnSpec[];
  rules?: ValidationRules;
  /** Renames input columns before matching them to the spec: `{ inputName: specName }`. */
  rename?: Record<string, string>;
  /** Texts that mean a missing value (e.g. `?`, `NA`), besides the empty text. */
  nullValues?: string[];
  /** The input format; default from each file's extension. */
  format?: DataFormat;
  /** The CSV dialect (delimiter, quote, header); what is left out is sniffed per file. */
  csv?: CsvOptions;
  onProgress?: ProgressFn;
  clock?: Clock;
  /** Ingest even a batch identical to an earlier accepted one (same input digest). */
  force?: boolean;
}

/** A row that shows why a check failed: its file, its 1-based data row in that file, its value. */
export interface CheckExample {
  file?: string;
  row?: number;
  value?: string | null;
}

/** The outcome of one check. `observed` and `threshold` are counts, shares or row counts. */
export interface CheckResult {
  /** The rule: `columns`, `type`, `not_null`, `missing`, `range`, `allowed`, `duplicates`, `unique_key`, `volume`. */
  check: string;
  column?: string;
  passed: boolean;
  observed: number | string | null;
  threshold: number | string | null;
  /** The number of offending values or rows, when the check counts them. */
  count?: number;
  message: string;
  examples?: CheckExample[];
}

export interface IngestReport {
  dataset: string;
  accepted: boolean;
  /** Rows in the batch (every file together). */
  rows: number;
  /** The input files, as given. */
  files: string[];
  checks: CheckResult[];
  /** The Parquet partition written, when accepted. */
  partition?: string;
  /** `sha256:<hex>` of the partition written; empty when the batch was rejected. */
  digest: string;
  /** `sha256:<hex>` over the input files' digests, in the order given. */
  inputDigest?: string;
  /**
   * Set when an identical batch (same input digest) was accepted before and this one was not
   * read again: `partition`, `digest` and `rows` are that earlier ingest's.
   */
  skipped?: { at: number; reason: string };
}
