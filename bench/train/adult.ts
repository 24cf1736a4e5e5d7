/**
 * Train time and test AUC of Keel's GBDT on adult.csv.gz against xgboost (hist) and scikit-learn's
 * HistGradientBoosting, same split and settings (depth 6, 200 rounds, lr 0.1), one thread each.
 * The baselines run through /usr/bin/python3 when xgboost and sklearn import; otherwise their
 * lines are skipped with a note. Run: npx tsx bench/train/adult.ts
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { loadTable, predictGbdt, rocAuc, takeRows, takeValues, trainGbdt } from '../../src/ml/index.js';
import { ADULT_CATEGORICAL as CATEGORICAL } from '../../test/ml/fixtures/adult.js';

const DATA = process.env.KEEL_ADULT ?? resolve(import.meta.dirname, '../../../shared/data/adult.csv.gz');
const SCRIPT = join(import.meta.dirname, '..', '..', 'test', 'ml', 'fixtures', 'adult_reference.py');
const PYTHON = '/usr/bin/python3';
const RUNS = 5;

interface Baseline {
  auc: number;
  train_seconds: number;
  /** Process CPU time: steadier than wall time on a shared machine. */
  train_cpu_seconds: number;
}

function baselines(): { xgboost?: Baseline; sklearn_hgb?: Baseline; note?: string } {
  if (!existsSync(PYTHON)) return { note: `${PYTHON} not found` };
  const probe = spawnSync(PYTHON, ['-c', 'import xgboost, sklearn'], { encoding: 'utf8' });
  if (probe.status !== 0) return { note: 'python3-xgboost or python3-sklearn is not installed' };
  const env = { ...process.env, OMP_NUM_THREADS: '1', OPENBLAS_NUM_THREADS: '1' };
  const best: { xgboost?: Baseline; sklearn_hgb?: Baseline } = {};
  for (let r = 0; r < RUNS; r++) {
    const run = spawnSync(PYTHON, [SCRIPT, DATA], { encoding: 'utf8', env, maxBuffer: 1 << 24 });
    if (run.status !== 0) return { note: `baseline script failed: ${run.stderr.trim().split('\n').at(-1)}` };
    const out = JSON.parse(run.stdout) as { xgboost: Baseline; sklearn_hgb: Baseline };
    for (const k of ['xgboost', 'sklearn_hgb'] as const) {
      const prev = best[k];
      best[k] = prev
        ? {
            auc: out[k].auc,
            train_seconds: Math.min(prev.train_seconds, out[k].train_seconds),
            train_cpu_seconds: Math.min(prev.train_cpu_seconds, out[k].train_cpu_seconds),
          }
        : out[k];
    }
  }
  return best;
}

async function main(): Promise<void> {
  if (!existsSync(DATA)) {
    console.log(`skipped: ${DATA} not found (set KEEL_ADULT)`);
    return;
  }
  const t0 = performance.now();
  const table = await loadTable({
    path: DATA,
    target: 'income',
    positiveLabel: '>50K',
    categorical: CATEGORICAL,
    extraColumns: ['split'],
  });
  const loadSeconds = (performance.now() - t0) / 1000;
  const train: number[] = [];
  const test: number[] = [];
  table.extra.split.forEach((s, i) => {
    (s === 'train' ? train : test).push(i);
  });
  const y = table.y as Float64Array;
  const xTrain = takeRows(table.x, train);
  const yTrain = takeValues(y, train);
  const params = {
    iterations: 200,
    learningRate: 0.1,
    maxDepth: 6,
    maxLeaves: 64,
    minSamplesLeaf: 1,
    minChildWeight: 1,
    l2: 1,
  };
  const xTest = takeRows(table.x, test);
  const yTest = takeValues(y, test);
  // Best of RUNS in CPU and wall time. The baselines get the categories as numeric codes, and so
  // does the first Keel line; the second declares them categorical (set splits).
  const measure = (categorical?: string[]) => {
    let seconds = Number.POSITIVE_INFINITY;
    let cpu = Number.POSITIVE_INFINITY;
    let auc = 0;
    for (let r = 0; r < RUNS; r++) {
      const start = performance.now();
      const startCpu = process.cpuUsage();
      const model = trainGbdt(xTrain, yTrain, params, { categorical });
      seconds = Math.min(seconds, (performance.now() - start) / 1000);
      const used = process.cpuUsage(startCpu);
      cpu = Math.min(cpu, (used.user + used.system) / 1e6);
      auc = rocAuc(yTest, predictGbdt(model, xTest));
    }
    return { seconds, cpu, auc };
  };
  const { seconds, cpu, auc } = measure();
  const cat = measure(CATEGORICAL);
  console.log(
    `adult: ${train.length} train / ${test.length} test rows, 14 features; load ${loadSeconds.toFixed(2)} s (DuckDB)`,
  );
  console.log(
    `keel gbdt       train ${seconds.toFixed(3)} s, cpu ${cpu.toFixed(3)} s (best of ${RUNS})  test AUC ${auc.toFixed(5)}`,
  );
  console.log(
    `keel gbdt, categorical splits: train ${cat.seconds.toFixed(3)} s, cpu ${cat.cpu.toFixed(3)} s  test AUC ${cat.auc.toFixed(5)}  ` +
      `ratio to codes: cpu ${(cat.cpu / cpu).toFixed(2)}`,
  );
  const base = baselines();
  if (base.note) {
    console.log(`baselines skipped: ${base.note}`);
    return;
  }
  for (const [name, b] of [
    ['xgboost', base.xgboost],
    ['sklearn hgb', base.sklearn_hgb],
  ] as const) {
    if (!b) continue;
    console.log(
      `${name.padEnd(15)} train ${b.train_seconds.toFixed(3)} s, cpu ${b.train_cpu_seconds.toFixed(3)} s (best of ${RUNS})  ` +
        `test AUC ${b.auc.toFixed(5)}  keel/${name} ratio: wall ${(seconds / b.train_seconds).toFixed(2)}, ` +
        `cpu ${(cpu / b.train_cpu_seconds).toFixed(2)}  AUC gap ${(auc - b.auc).toFixed(5)}`,
    );
  }
}

await main();
