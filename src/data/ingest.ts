/**
 * @module data/ingest
 * Ingestion: read a batch through DuckDB, check it, and either write it whole as one Parquet
 * partition of the dataset or reject it whole with a report, leaving the store untouched.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { KeelError, systemClock } from '../core/index.js';
import { typedSelectList } from './casts.js';
import { datasetDir } from './dataset.js';
import { appendHistory, readHistory } from './history.js';
import { withDatasetLock } from './lock.js';
import { fileDigest, writePartition } from './partition.js';
import { formatCheck, formatReport, reportHeadline } from './report.js';
import { parseDatasetSpec } from './spec-schema.js';
import { ident, withDuckDB } from './sql.js';
import { fileSources, stageSources } from './stage.js';
import type { IngestOptions, IngestReport } from './types.js';
import { checkStaged } from './validate.js';

const STAGE_TABLE = 'batch';

/** sha256 over the digests of a batch's files, in order: what tells a batch ingested again. */
async function batchDigest(paths: string[]): Promise<string> {
  const hash = createHash('sha256');
  for (const path of paths) hash.update(`${await fileDigest(path)}\n`);
  return `sha256:${hash.digest('hex')}`;
}

/**
 * Ingests a batch of files into the offline store as one Parquet partition, after checking
 * types, required columns, missing values, duplicates, volume and ranges (see `ValidationRules`).
 * Progress events: files read, then rows validated, then the partition written.
 * A batch whose files have the digests of an earlier accepted batch is not ingested again (unless
 * `force`): the report says so in `skipped` and names the earlier partition.
 * @returns the report of an accepted batch, with the partition's path and sha256 digest.
 * @throws KeelError DATA_VALIDATION_FAILED when any check fails; the message lists the failed
 * checks, `details.report` is the IngestReport and `details.text` the whole report as text;
 * nothing is written. INVALID_PARAMETER_VALUE for an invalid spec, dataset name, or an unreadable
 * file; RESOURCE_DOES_NOT_EXIST for a missing file; FAILED_PRECONDITION while another process
 * writes the same dataset.
 */
export async function ingest(options: IngestOptions): Promise<IngestReport> {
  const spec = parseDatasetSpec(options, `spec of dataset '${options.dataset}'`);
  const dir = datasetDir(options.home, options.dataset);
  const clock = options.clock ?? systemClock;
  const history = readHistory(dir);
  const sources = fileSources(options.paths, spec.format, spec.csv);
  const progress = options.onProgress;
  const label = `ingest ${options.dataset}`;
  const inputDigest = await batchDigest(options.paths);
  const same = options.force ? undefined : history.find((h) => h.inputDigest === inputDigest);
  if (same && existsSync(same.partition)) {
    return {
      dataset: options.dataset,
      accepted: true,
      rows: same.rows,
      files: [...options.paths],
      checks: [],
      partition: same.partition,
      digest: same.digest,
      inputDigest,
      skipped: {
        at: same.at,
        reason: `the same batch (${inputDigest.slice(0, 19)}...) was ingested at ${new Date(same.at).toISOString()}`,
      },
    };
  }

  return withDuckDB(async (conn) => {
    const staged = await stageSources(conn, STAGE_TABLE, sources, spec.columns, {
      rename: spec.rename,
      nullValues: spec.nullValues,
      label: `${label}: read`,
      onProgress: progress,
    });
    const verdict = await checkStaged(
      conn,
      staged,
      spec.columns,
      spec.rules ?? {},
      history.map((h) => h.rows),
      progress && ((e) => progress({ ...e, label: `${label}: validate` })),
    );
    const report: IngestReport = {
      dataset: options.dataset,
      accepted: verdict.passed,
      rows: verdict.rows,
      files: [...options.paths],
      checks: verdict.checks,
      digest: '',
      inputDigest,
    };
    if (!report.accepted) {
      const failed = report.checks.filter((c) => !c.passed).map((c) => `  ${formatCheck(c)}`);
      throw new KeelError('DATA_VALIDATION_FAILED', [reportHeadline(report), ...failed].join('\n'), {
        details: { report, text: formatReport(report) },
      });
    }
    // The volume check read the history before this lock: a batch another process lands
    // meanwhile is missing from this batch's mean, but never from the history itself.
    await withDatasetLock(dir, options.dataset, async () => {
      const at = clock.now();
      const partition = await writePartition(
        conn,
        dir,
        `SELECT ${typedSelectList(spec.columns)} FROM ${ident(STAGE_TABLE)}`,
        at,
      );
      report.partition = partition;
      report.digest = await fileDigest(partition);
      appendHistory(dir, {
        at,
        rows: report.rows,
        partition,
        digest: report.digest,
        files: report.files,
        inputDigest,
        checks: report.checks.map(({ examples: _examples, ...check }) => check),
      });
    });
    progress?.({ label: `${label}: write`, done: report.rows, total: report.rows, unit: 'rows' });
    return report;
  });
}
