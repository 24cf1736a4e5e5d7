/**
 * Batch scoring throughput: `scoreDataset` over a generated 1M-row Parquet file (20 numeric
 * columns and a categorical one) with a Keel-trained GBDT, against two floors measured in the
 * same run: DuckDB copying the same Parquet to a new Parquet (the read+write floor), and ONNX
 * Runtime scoring the same rows from one in-memory float32 tensor (the compute floor, with the
 * session settings serving uses: one intra-op thread).
 *
 * Run: npx tsx bench/serving/batch.ts [rows=1000000] [repeats=3]
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalArtifactStore } from '../../src/artifacts/index.js';
import { withDuckDB } from '../../src/data/sql.js';
import { exportOnnx, loadTable, META_CATEGORIES, trainGbdt } from '../../src/ml/index.js';
import { Registry } from '../../src/registry/index.js';
import { ServingModel, scoreDataset } from '../../src/serving/index.js';
import { openDatabase } from '../../src/storage/index.js';
import { Tracking } from '../../src/tracking/index.js';

const ROWS = Number(process.argv[2] ?? 1_000_000);
const repeats = Number(process.argv[3] ?? 3);
const FEATURES = 20;
const TREES = 100;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const rate = (ms: number) => Math.round(ROWS / (ms / 1000)).toLocaleString('en-US');

async function time(work: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await work();
  return performance.now() - start;
}

/** `rows` rows: id, f0..f19 (5% missing), segment (8 values), and a label that depends on them. */
function generate(path: string, rows: number, seed: number): Promise<void> {
  const f = Array.from(
    { length: FEATURES },
    (_, i) => `CASE WHEN random() < 0.05 THEN NULL ELSE random() * 10 - 5 END AS f${i}`,
  );
  return withDuckDB(async (conn) => {
    await conn.run(`SELECT setseed(${seed})`);
    await conn.run(
      `COPY (SELECT *, CASE WHEN coalesce(f0, 0) + 0.5 * coalesce(f1, 0) - 0.3 * coalesce(f2, 0) + CASE WHEN segment IN ('s1', 's4') THEN 2 ELSE 0 END + random() * 4 - 2 > 0.5 THEN 1 ELSE 0 END AS y
        FROM (SELECT i AS id, ${f.join(', ')}, 's' || (hash(i) % 8) AS segment FROM range(${rows}) t(i))) TO '${path}' (FORMAT parquet)`,
    );
  });
}

async function main() {
  const dir = mkdtempSync(join(tmpdir(), 'keel-bench-'));
  try {
    console.log(
      `load average at start: ${loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')}`,
    );
    const input = join(dir, 'rows.parquet');
    const train = join(dir, 'train.parquet');
    await generate(input, ROWS, 0.25);
    await generate(train, 50_000, 0.5);
    const table = await loadTable({
      path: train,
      target: 'y',
      categorical: ['segment'],
      extraColumns: ['id'],
    });
    const model = trainGbdt(
      table.x,
      table.y as Float64Array,
      { iterations: TREES },
      { categorical: ['segment'] },
    );
    const modelFile = join(dir, 'model.onnx');
    writeFileSync(
      modelFile,
      exportOnnx(model, { metadata: { [META_CATEGORIES]: JSON.stringify(table.categories) } }),
    );

    const db = await openDatabase({ type: 'sqlite', path: join(dir, 'keel.db') });
    const tracking = new Tracking(db, new LocalArtifactStore(join(dir, 'artifacts')));
    await tracking.init();
    const registry = new Registry(tracking, { policy: { productionAlias: 'champion', stages: {} } });
    await registry.init();
    await registry.models.create('bench');
    await registry.versions.create({ name: 'bench', source: modelFile });
    await registry.promote('bench', 1, 'Production');

    // The compute floor's input: every row already encoded, row-major float32.
    const all = await loadTable({ path: input, features: model.featureNames, categories: table.categories });
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
    console.log(
      `load average at end: ${loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')}`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
