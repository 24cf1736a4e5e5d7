/**
 * @module demo/ingest-step
 * Step 1: the raw transactions go through validated ingestion, so the demo starts from a stored,
 * checked Parquet partition rather than the CSV, as a real pipeline would.
 */
import type { ProgressFn } from '../core/index.js';
import { type CheckResult, ingest, loadSchemaFile } from '../data/index.js';
import { CHURN_EXAMPLE } from './paths.js';

export interface IngestStep {
  dataset: string;
  file: string;
  rows: number;
  /** The stored partition and its `sha256:` digest. */
  partition: string;
  digest: string;
  /** Rows without a CustomerID, and their share of all rows. */
  missingCustomerId: { rows: number; share: number };
  /** Rows repeating an earlier row exactly. */
  duplicates: { rows: number; share: number };
  checks: { passed: number; failed: number };
  /** Set when the same file was ingested before: its partition is reused and nothing is written. */
  reused?: { at: number };
}

const figure = (check: CheckResult | undefined) => ({
  rows: check?.count ?? 0,
  share: typeof check?.observed === 'number' ? check.observed : 0,
});

/**
 * Ingests the Online Retail CSV as dataset `online_retail` under `<home>/offline/`; a second run
 * finds the same file already ingested and reuses its partition, so nothing downstream changes.
 * @throws KeelError DATA_VALIDATION_FAILED when the batch breaks the schema's rules (see `ingest`).
 */
export async function ingestRetail(home: string, onProgress?: ProgressFn): Promise<IngestStep> {
  const spec = loadSchemaFile(CHURN_EXAMPLE.schema);
  const report = await ingest({
    home,
    dataset: 'online_retail',
    paths: [CHURN_EXAMPLE.data],
    columns: spec.columns,
    rules: spec.rules,
    rename: spec.rename,
    onProgress,
  });
  const find = (name: string, column?: string) =>
    report.checks.find((c) => c.check === name && c.column === column);
  return {
    dataset: report.dataset,
    file: CHURN_EXAMPLE.data,
    rows: report.rows,
    partition: report.partition as string,
    digest: report.digest,
    missingCustomerId: figure(find('missing', 'CustomerID')),
    duplicates: figure(find('duplicates')),
    checks: {
      passed: report.checks.filter((c) => c.passed).length,
      failed: report.checks.filter((c) => !c.passed).length,
    },
    ...(report.skipped ? { reused: { at: report.skipped.at } } : {}),
  };
}
