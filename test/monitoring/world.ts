/**
 * A monitored world for the monitoring tests: a project folder whose store (the home's SQLite file,
 * or a fresh PostgreSQL schema) holds model
 * `churn` version 1, a Keel-trained GBDT over three numeric features, registered from a run that
 * logged its metrics and names its training data (a CSV file) as a training dataset input, so
 * the version's reference profile builds from the run alone.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Clock, type KeelConfig, loadConfig } from '../../src/core/index.js';
import { exportOnnx, type FeatureMatrix, Rng, scoreOnnx, trainGbdt } from '../../src/ml/index.js';
import { Monitoring, PredictionLog } from '../../src/monitoring/index.js';
import { Registry } from '../../src/registry/index.js';
import { type Backend, freshPostgresSchema, tempDir } from '../helpers/tracking.js';

export const FEATURES = ['tenure', 'orders', 'spend'] as const;
export type Row = Record<(typeof FEATURES)[number], number>;

/** `n` rows of the world's distribution; `shift` moves tenure and spend up (drift). */
export function rowsOf(n: number, seed: number, shift = 0): Row[] {
  const rng = new Rng(seed);
  return Array.from({ length: n }, () => ({
    tenure: Math.round(rng.next() * 100 + shift * 40),
    orders: Math.floor(-Math.log(1 - rng.next()) * 4),
    spend: Math.round(Math.exp(rng.next() * 3 + shift) * 100) / 100,
  }));
}

/** The world's label: churn is likelier for short tenure and few orders. */
export function labelOf(r: Row, rng: Rng): number {
  const z = 1.5 - r.tenure / 30 - r.orders / 2 + (rng.next() - 0.5) * 2;
  return z > 0 ? 1 : 0;
}

export const matrixOf = (rows: readonly Row[]): FeatureMatrix => ({
  names: [...FEATURES],
  columns: FEATURES.map((f) => Float64Array.from(rows, (r) => r[f])),
});

export interface MonitoredWorld {
  dir: string;
  config: KeelConfig;
  /** The environment the CLI needs to open the same store (KEEL_DB on PostgreSQL). */
  env: Record<string, string>;
  registry: Registry;
  monitoring: Monitoring;
  trainingFile: string;
  modelFile: string;
  runId: string;
  close: () => Promise<void>;
}

/** Writes rows (and labels) as CSV. */
export function writeCsv(path: string, rows: readonly Row[], labels?: readonly number[]): void {
  const header = [...FEATURES, ...(labels ? ['churned'] : [])].join(',');
  const lines = rows.map((r, i) => [...FEATURES.map((f) => r[f]), ...(labels ? [labels[i]] : [])].join(','));
  writeFileSync(path, `${header}\n${lines.join('\n')}\n`);
}

export async function monitoredWorld(
  backend: Backend = 'sqlite',
  postgresUrl?: string,
  options: { clock?: Clock; trainingRows?: number; keelYaml?: string } = {},
): Promise<MonitoredWorld> {
  const dir = tempDir('keel-mon-');
  if (options.keelYaml) writeFileSync(join(dir, 'keel.yaml'), options.keelYaml);
  // The project's own store (as the CLI and `keel serve` open it): the home's SQLite file, or a
  // fresh PostgreSQL schema named by KEEL_DB.
  const schema = backend === 'postgres' ? await freshPostgresSchema(postgresUrl as string) : undefined;
  const env: Record<string, string> = schema ? { KEEL_DB: schema.url } : {};
  const config = loadConfig({ cwd: dir, env });
  const registry = await Registry.open(config, { clock: options.clock, delivery: { baseDelayMs: 10 } });
  const tracking = registry.tracking;
  const rows = rowsOf(options.trainingRows ?? 2000, 1);
  const rng = new Rng(2);
  const labels = rows.map((r) => labelOf(r, rng));
  const trainingFile = join(dir, 'training.csv');
  writeCsv(trainingFile, rows, labels);
  const model = trainGbdt(matrixOf(rows), Float64Array.from(labels), {
    iterations: 20,
    learningRate: 0.3,
    maxLeaves: 8,
  });
  const modelFile = join(dir, 'model.onnx');
  writeFileSync(modelFile, exportOnnx(model));
  const run = await tracking.runs.create({ experimentId: '0' });
  const runId = run.info.run_id;
  await tracking.runs.logBatch(runId, {
    metrics: [
      { key: 'roc_auc', value: 0.9, timestamp: 1, step: 0 },
      { key: 'accuracy', value: 0.8, timestamp: 1, step: 0 },
    ],
  });
  await tracking.runs.logInputs(runId, [
    {
      tags: [{ key: 'mlflow.data.context', value: 'training' }],
      dataset: { name: 'training', digest: 'abc', source_type: 'local', source: trainingFile },
    },
  ]);
  await registry.models.create('churn');
  await registry.versions.create({ name: 'churn', source: modelFile, runId });
  const monitoring = await Monitoring.open(config, { registry, clock: options.clock });
  return {
    dir,
    config,
    env,
    registry,
    monitoring,
    trainingFile,
    modelFile,
    runId,
    close: async () => {
      await monitoring.close();
      await registry.close();
      await schema?.drop();
    },
  };
}

export interface Traffic {
  /** When the rows are logged (ms), spread one second apart from here. */
  at: number;
  rows: readonly Row[];
  version?: string;
  canary?: boolean;
  /** Leave this feature out of the logged inputs (schema drift). */
  drop?: string;
  /** Log this feature as missing in every row. */
  blank?: string;
  /** Post the true labels for these rows (by the world's label rule). */
  labels?: boolean;
  /** Post every label wrong (1 - the true one): a model that got worse. */
  flipLabels?: boolean;
  /** Request ids start with this. */
  prefix: string;
}

/**
 * Logs traffic as `keel serve` does: one request per row, scored by the world's model, through a
 * real PredictionLog; labels through its feedback path.
 */
export async function logTraffic(world: MonitoredWorld, batches: readonly Traffic[]): Promise<void> {
  const log = new PredictionLog({ home: world.config.home, flushIntervalMs: 60_000 });
  const rng = new Rng(99);
  for (const t of batches) {
    const scores = await scoreOnnx(world.modelFile, matrixOf(t.rows));
    const columns = FEATURES.filter((f) => f !== t.drop);
    t.rows.forEach((r, i) => {
      const id = `${t.prefix}-${i}`;
      const values = Float32Array.from(columns, (f) => (f === t.blank ? Number.NaN : r[f]));
      log.append({
        timestamp: t.at + i * 1000,
        requestId: id,
        model: 'churn',
        version: t.version ?? '1',
        canary: t.canary ?? false,
        latencyMs: 1,
        scores: [scores[i]],
        inputs: { columns, values },
      });
      if (t.labels) {
        const label = labelOf(r, rng);
        log.recordFeedback([
          { timestamp: t.at + i * 1000, requestId: id, label: t.flipLabels ? 1 - label : label },
        ]);
      }
    });
  }
  await log.close();
}

/** A training recipe in the project: `train.yaml`, a small GBDT on a fresh training file. */
export function writeRecipe(dir: string): void {
  const rows = rowsOf(1500, 31, 0.5);
  const rng = new Rng(5);
  writeCsv(
    join(dir, 'fresh.csv'),
    rows,
    rows.map((r) => labelOf(r, rng)),
  );
  writeFileSync(
    join(dir, 'train.yaml'),
    'data: { path: fresh.csv, target: churned }\nmodel: { kind: gbdt, params: { iterations: 10, maxLeaves: 8 } }\nout: model.onnx\n',
  );
}
