/**
 * Shared pieces of the batch scoring benchmarks: a generated Parquet file of rows to score (20
 * numeric columns, 5% missing, and a categorical one) and a Keel-trained GBDT registered as
 * `bench` version 1, the Production version (alias `champion`).
 */
import { writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { withDuckDB } from '../../src/data/sql.js';
import { exportOnnx, type GbdtModel, loadTable, META_CATEGORIES, trainGbdt } from '../../src/ml/index.js';
import type { Registry } from '../../src/registry/index.js';

export const FEATURES = 20;

/** The 1, 5 and 15 minute load averages, for a bench's first and last lines. */
export const loadAverage = (): string =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
export const TREES = 100;

/** `rows` rows: id, f0..f19 (5% missing), segment (8 values), and a label that depends on them. */
export function generate(path: string, rows: number, seed: number): Promise<void> {
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

/** Trains the GBDT on 50,000 generated rows and registers it in `registry` as `bench` version 1. */
export async function registerBenchModel(
  registry: Registry,
  dir: string,
): Promise<{ model: GbdtModel; categories: Record<string, string[]> }> {
  const train = join(dir, 'train.parquet');
  await generate(train, 50_000, 0.5);
  const table = await loadTable({ path: train, target: 'y', categorical: ['segment'], extraColumns: ['id'] });
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
  await registry.models.create('bench');
  await registry.versions.create({ name: 'bench', source: modelFile });
  await registry.promote('bench', 1, 'Production');
  return { model, categories: table.categories };
}
