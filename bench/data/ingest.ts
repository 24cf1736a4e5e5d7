/**
 * Ingest throughput on online_retail.csv.gz (541,909 rows; Chen, D. (2015). Online Retail. UCI
 * Machine Learning Repository. doi:10.24432/C5BW33, CC BY 4.0): `ingest()` with every check
 * against a bare DuckDB `COPY (SELECT * FROM read_csv(...)) TO parquet`, in the same run.
 *
 * Run: npx tsx bench/data/ingest.ts [repeats=3]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ingest, loadSchemaFile } from '../../src/data/index.js';
import { withDuckDB } from '../../src/data/sql.js';

const DATA = resolve(import.meta.dirname, '../../examples/churn/data/online_retail.csv.gz');
const ROWS = 541_909;
const repeats = Number(process.argv[2] ?? 3);
const spec = loadSchemaFile('examples/churn/online_retail.schema.yaml');
// Every kind of check runs: the fixture's types, not-null and missing limits, plus a range,
// exact duplicates with a limit, and volume against the earlier ingest of the same run.
const columns = spec.columns.map((c) => (c.name === 'Quantity' ? { ...c, min: -100_000, max: 100_000 } : c));
const rules = { ...spec.rules, maxDuplicateShare: 0.02, volume: { minRows: 1, maxChangeShare: 0.5 } };

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function time(work: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await work();
  return performance.now() - start;
}

async function main() {
  const dir = mkdtempSync(join(tmpdir(), 'keel-bench-'));
  const baseline: number[] = [];
  const ingested: number[] = [];
  try {
    for (let i = 0; i < repeats; i++) {
      baseline.push(
        await time(() =>
          withDuckDB((conn) =>
            conn.run(
              `COPY (SELECT * FROM read_csv('${DATA}')) TO '${join(dir, `base-${i}.parquet`)}' (FORMAT parquet)`,
            ),
          ),
        ),
      );
      ingested.push(
        await time(() =>
          ingest({ home: join(dir, `home-${i}`), dataset: 'retail', paths: [DATA], columns, rules }),
        ),
      );
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const base = median(baseline);
  const ours = median(ingested);
  const rate = (ms: number) => Math.round(ROWS / (ms / 1000)).toLocaleString('en-US');
  console.log(`online_retail.csv.gz, ${ROWS.toLocaleString('en-US')} rows, median of ${repeats}`);
  console.log(`baseline DuckDB read_csv -> parquet: ${base.toFixed(0)} ms, ${rate(base)} rows/s`);
  console.log(`keel ingest with all checks:        ${ours.toFixed(0)} ms, ${rate(ours)} rows/s`);
  console.log(`ratio (ingest rows/s / baseline rows/s): ${(base / ours).toFixed(2)}`);
}

await main();
