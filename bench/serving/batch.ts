/**
 * Batch scoring throughput: `scoreDataset` over a generated 1M-row Parquet file (20 numeric
 * columns and a categorical one) with a Keel-trained GBDT, against two floors measured in the
 * same run: DuckDB copying the same Parquet to a new Parquet (the read+write floor), and ONNX
 * Runtime scoring the same rows from one in-memory float32 tensor (the compute floor, with the
 * session settings serving uses: one intra-op thread).
 *
 * Run: npx tsx bench/serving/batch.ts [rows=1000000] [repeats=3]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalArtifactStore } from '../../src/artifacts/index.js';
import { withDuckDB } from '../../src/data/sql.js';
import { loadTable } from '../../src/ml/index.js';
import { Registry } from '../../src/registry/index.js';
import { ServingModel, scoreDataset } from '../../src/serving/index.js';
import { openDatabase } from '../../src/storage/index.js';
import { Tracking } from '../../src/tracking/index.js';
import { generate, loadAverage, registerBenchModel, TREES } from './batch-common.js';

const ROWS = Number(process.argv[2] ?? 1_000_000);
const repeats = Number(process.argv[3] ?? 3);

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const rate = (ms: number) => Math.round(ROWS / (ms / 1000)).toLocaleString('en-US');

async function time(work: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await work();
  return performance.now() - start;
}

async function main() {
  const dir = mkdtempSync(join(tmpdir(), 'keel-bench-'));
  try {
    console.log(`load average at start: ${loadAverage()}`);
    const input = join(dir, 'rows.parquet');
    await generate(input, ROWS, 0.25);

    const db = await openDatabase({ type: 'sqlite', path: join(dir, 'keel.db') });
    const tracking = new Tracking(db, new LocalArtifactStore(join(dir, 'artifacts')));
    await tracking.init();
    const registry = new Registry(tracking, { policy: { productionAlias: 'champion', stages: {} } });
    await registry.init();
    const { model, categories } = await registerBenchModel(registry, dir);

    // The compute floor's input: every row already encoded, row-major float32.
    const all = await loadTable({ path: input, features: model.featureNames, categories });
    const width = model.featureNames.length;
    const tensor = new Float32Array(ROWS * width);
    all.x.columns.forEach((column, j) => {
      for (let i = 0; i < ROWS; i++) tensor[i * width + j] = column[i];
    });
    const served = await ServingModel.load(registry, 'models:/bench@champion');

    const copyAll: number[] = [];
    const copyNarrow: number[] = [];
    const compute: number[] = [];
    const keel: number[] = [];
    for (let i = 0; i < repeats; i++) {
      copyAll.push(
        await time(() =>
          withDuckDB((conn) =>
            conn.run(
              `COPY (SELECT * FROM read_parquet('${input}')) TO '${join(dir, 'copy.parquet')}' (FORMAT parquet)`,
            ),
          ),
        ),
      );
      // The same bytes read, and an output shaped like batch scoring's: an id and a double.
      copyNarrow.push(
        await time(() =>
          withDuckDB((conn) =>
            conn.run(
              `COPY (SELECT id, ${model.featureNames.map((f) => `coalesce(TRY_CAST(${f} AS DOUBLE), 0)`).join(' + ')} AS score FROM read_parquet('${input}')) TO '${join(dir, 'narrow.parquet')}' (FORMAT parquet)`,
            ),
          ),
        ),
      );
      compute.push(await time(() => served.score(tensor, ROWS)));
      keel.push(
        await time(() =>
          scoreDataset({
            registry,
            model: 'models:/bench@champion',
            input,
            output: join(dir, 'scores.parquet'),
            keep: ['id'],
          }),
        ),
      );
    }
    await served.release();
    await registry.close();

    const k = median(keel);
    const lines: Array<[string, number]> = [
      ['DuckDB copy, every column (read+write floor)', median(copyAll)],
      ['DuckDB copy, read all, write id + a double', median(copyNarrow)],
      ['ONNX Runtime, one in-memory tensor (compute floor)', median(compute)],
      ['keel scoreDataset, keep id', k],
    ];
    console.log(
      `${ROWS.toLocaleString('en-US')} rows, ${width} columns (1 categorical), GBDT ${TREES} trees, median of ${repeats}`,
    );
    for (const [label, ms] of lines)
      console.log(`${label.padEnd(52)} ${ms.toFixed(0).padStart(6)} ms  ${rate(ms).padStart(11)} rows/s`);
    console.log(`ratio keel / read+write floor (rows/s): ${(median(copyAll) / k).toFixed(2)}`);
    console.log(`ratio keel / id+double copy (rows/s):   ${(median(copyNarrow) / k).toFixed(2)}`);
    console.log(`ratio keel / compute floor (rows/s):    ${(median(compute) / k).toFixed(2)}`);
    console.log(`load average at end: ${loadAverage()}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
