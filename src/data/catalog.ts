/**
 * @module data/catalog
 * What the offline store holds, dataset by dataset (`keel datasets list|show|rm`), and a look into
 * any Parquet, CSV or JSON file (`keel show FILE`): its columns and types, row count and first rows.
 */
import { existsSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { KeelError, notFound, shortId } from '../core/index.js';
import { type CsvDialect, type CsvOptions, csvDialect, csvReaderSql, requireFile } from './csv.js';
import { datasetDigest, datasetDir, datasetGlob } from './dataset.js';
import { detectFormat, readerSql } from './formats.js';
import { type IngestHistoryEntry, readHistory } from './history.js';
import { withDatasetLock } from './lock.js';
import { literal, queryRows, type Row, withDuckDB } from './sql.js';

export interface DatasetSummary {
  name: string;
  /** Parquet partitions in the folder now. */
  partitions: number;
  /** Rows over the recorded ingests. */
  rows: number;
  /** The last accepted ingest (ms since the epoch), if any. */
  lastIngest?: number;
  path: string;
}

export interface ColumnInfo {
  name: string;
  type: string;
}

const partitionNames = (dir: string) =>
  readdirSync(dir).filter((n) => n.endsWith('.parquet') && !n.startsWith('.'));

function summary(home: string, name: string): DatasetSummary {
  const dir = datasetDir(home, name);
  const history = readHistory(dir);
  return {
    name,
    partitions: partitionNames(dir).length,
    rows: history.reduce((n, h) => n + h.rows, 0),
    ...(history.length > 0 ? { lastIngest: history[history.length - 1].at } : {}),
    path: dir,
  };
}

/** Every dataset of the offline store (`<home>/offline/<name>/`), by name. */
export function listDatasets(home: string): DatasetSummary[] {
  const root = join(home, 'offline');
  if (!existsSync(root)) return [];
  return readdirSync(root)
    .filter((name) => !name.startsWith('.') && statSync(join(root, name)).isDirectory())
    .sort()
    .map((name) => summary(home, name));
}

function requireDataset(home: string, name: string): string {
  const dir = datasetDir(home, name);
  if (!existsSync(dir)) {
    const known = listDatasets(home).map((d) => d.name);
    throw notFound(
      `Dataset '${name}' does not exist in ${join(home, 'offline')} (${known.length ? `datasets: ${known.join(', ')}` : 'no dataset yet: keel ingest <dataset> <file> --schema <schema.yaml>'})`,
    );
  }
  return dir;
}

export interface DatasetDetails extends DatasetSummary {
  /** `sha256:` over its partitions, as training runs record it. */
  digest: string;
  columns: ColumnInfo[];
  ingests: IngestHistoryEntry[];
}

/**
 * One dataset: its ingests, columns and digest.
 * @throws KeelError RESOURCE_DOES_NOT_EXIST naming the datasets there are.
 */
export async function showDataset(home: string, name: string): Promise<DatasetDetails> {
  const dir = requireDataset(home, name);
  const columns =
    partitionNames(dir).length === 0
      ? []
      : await withDuckDB(async (conn) =>
          describe(conn, `read_parquet(${literal(datasetGlob(home, name))}, union_by_name = true)`),
        );
  return {
    ...summary(home, name),
    digest: await datasetDigest(home, name),
    columns,
    ingests: readHistory(dir),
  };
}

/**
 * Removes a dataset with its partitions and history, under its write lock: the folder is renamed
 * away first, so no reader ever sees half of it.
 * @throws KeelError RESOURCE_DOES_NOT_EXIST; FAILED_PRECONDITION while an ingest writes it.
 */
export async function removeDataset(home: string, name: string): Promise<DatasetSummary> {
  const dir = requireDataset(home, name);
  const removed = summary(home, name);
  const doomed = join(home, 'offline', `.removed-${basename(dir)}-${shortId()}`);
  await withDatasetLock(dir, name, async () => {
    renameSync(dir, doomed);
  });
  rmSync(doomed, { recursive: true, force: true });
  return removed;
}

async function describe(conn: DuckDBConnection, source: string): Promise<ColumnInfo[]> {
  const rows = await queryRows(conn, `DESCRIBE SELECT * FROM ${source}`);
  return rows.map((r) => ({ name: String(r.column_name), type: String(r.column_type) }));
}

export interface FilePreview {
  path: string;
  format: string;
  /** A CSV's dialect (its cells are text until a schema types them). */
  csv?: Pick<CsvDialect, 'delimiter' | 'quote' | 'header' | 'sniffed'>;
  rows: number;
  columns: ColumnInfo[];
  /** The first rows, values as DuckDB reads them (BIGINTs as numbers when they fit). */
  head: Row[];
}

/**
 * Columns, row count and the first `rows` rows of a Parquet, CSV (also gzipped) or JSON file.
 * @throws KeelError RESOURCE_DOES_NOT_EXIST for a missing file; INVALID_PARAMETER_VALUE for an
 *   unknown extension or a file DuckDB cannot read.
 */
export async function previewFile(
  path: string,
  options: { rows?: number; csv?: CsvOptions } = {},
): Promise<FilePreview> {
  requireFile(path);
  const format = detectFormat(path);
  const dialect =
    format === 'csv' && !path.toLowerCase().endsWith('.zst') ? csvDialect(path, options.csv) : undefined;
  const source = dialect ? csvReaderSql(path, dialect) : readerSql(path, format, options.csv);
  const limit = Math.max(0, Math.floor(options.rows ?? 10));
  return withDuckDB(async (conn) => {
    try {
      const columns = await describe(conn, source);
      const [{ n }] = await queryRows(conn, `SELECT count(*) AS n FROM ${source}`);
      const head = await queryRows(conn, `SELECT * FROM ${source} LIMIT ${limit}`);
      return {
        path,
        format,
        ...(dialect
          ? {
              csv: {
                delimiter: dialect.delimiter,
                quote: dialect.quote,
                header: dialect.header,
                sniffed: dialect.sniffed,
              },
            }
          : {}),
        rows: Number(n),
        columns,
        head,
      };
    } catch (cause) {
      if (cause instanceof KeelError) throw cause;
      const reason = (cause as Error).message.split('\n').slice(0, 2).join(' ');
      throw new KeelError('INVALID_PARAMETER_VALUE', `Cannot read '${path}': ${reason}`, { cause });
    }
  });
}
