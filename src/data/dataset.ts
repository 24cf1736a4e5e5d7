/**
 * @module data/dataset
 * Where a dataset lives in the offline store and what it holds: its folder, the glob DuckDB reads
 * it with, its ingest history, and one digest over all its partitions for lineage.
 */
import { createHash } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { invalid } from '../core/index.js';
import { type IngestHistoryEntry, readHistory } from './history.js';
import { fileDigest } from './partition.js';

const DATASET_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

/**
 * The folder holding a dataset's partitions and ingest history: `<home>/offline/<dataset>`.
 * @throws KeelError INVALID_PARAMETER_VALUE for a name that is not letters, digits, `_ . -`.
 */
export function datasetDir(home: string, dataset: string): string {
  if (!DATASET_NAME.test(dataset)) {
    throw invalid(
      `Dataset name '${dataset}' must start with a letter or digit and hold only letters, digits, _ . -`,
    );
  }
  return join(home, 'offline', dataset);
}

/**
 * The glob DuckDB reads a dataset's partitions with: `<home>/offline/<dataset>/*.parquet`.
 * @throws KeelError INVALID_PARAMETER_VALUE for an invalid dataset name.
 */
export function datasetGlob(home: string, dataset: string): string {
  return join(datasetDir(home, dataset), '*.parquet');
}

export type { IngestHistoryEntry };

/**
 * The dataset's accepted ingests, oldest first (`at` in ms since the epoch); none for a new dataset.
 * @throws KeelError INVALID_STATE when the history file is corrupt.
 */
export function datasetHistory(home: string, dataset: string): IngestHistoryEntry[] {
  return readHistory(datasetDir(home, dataset));
}

/**
 * `sha256:<hex>` over the name and digest of every partition DuckDB would read now, in name
 * order: it changes exactly when the dataset's data does. Digests come from the history; a
 * partition the history does not know is hashed from its bytes. An empty dataset has a digest too.
 * @throws KeelError INVALID_PARAMETER_VALUE for an invalid dataset name.
 */
export async function datasetDigest(home: string, dataset: string): Promise<string> {
  const dir = datasetDir(home, dataset);
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => n.endsWith('.parquet') && !n.startsWith('.'));
  } catch {
    names = [];
  }
  const known = new Map(readHistory(dir).map((e) => [basename(e.partition), e.digest]));
  const hash = createHash('sha256');
  for (const name of names.sort()) {
    hash.update(`${name} ${known.get(name) ?? (await fileDigest(join(dir, name)))}\n`);
  }
  return `sha256:${hash.digest('hex')}`;
}
