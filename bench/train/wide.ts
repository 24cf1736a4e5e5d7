/**
 * Keel's trainers and loader at scale, on synthetic rows of 50 standard normal columns
 * (`wide-data.ts`), beside their Python peers in the same run when /usr/bin/python3 has them
 * (Debian: python3-xgboost python3-sklearn python3-pandas; `wide_reference.py`):
 *
 * - GBDT: `trainGbdt` against xgboost `hist`, one thread, depth 6, 256 bins, lr 0.1, from 30k to
 *   1M rows; CPU seconds, test AUC, the ratio, and each one's growth from the previous size.
 * - Logistic regression: `trainLogistic` (L-BFGS) against sklearn's lbfgs at C = 1 on the
 *   standardised rows: CPU seconds, iterations and the objective reached.
 * - CSV load: the peak resident memory of a process that loads the CSV with `loadTable`, against
 *   pandas' `read_csv` and against a floor (a process that only starts DuckDB, plus the arrays).
 *
 * Run: npx tsx bench/train/wide.ts [gbdt|logistic|load] (default all three). Environment:
 * KEEL_BENCH_ROWS (GBDT sizes, default 30000,100000,400000,1000000), KEEL_BENCH_ITERATIONS
 * (default 50), KEEL_BENCH_LR_ROWS and KEEL_BENCH_LOAD_ROWS (default 400000).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { predictGbdt, rocAuc, trainGbdt, trainLogistic } from '../../src/ml/index.js';
import { wideData, writeWideCsv } from './wide-data.js';

const FEATURES = 50;
const PYTHON = '/usr/bin/python3';
const SCRIPT = join(import.meta.dirname, 'wide_reference.py');
const list = (v: string | undefined, d: number[]) => (v ? v.split(',').map(Number) : d);
const ROWS = list(process.env.KEEL_BENCH_ROWS, [30_000, 100_000, 400_000, 1_000_000]);
const ITERATIONS = Number(process.env.KEEL_BENCH_ITERATIONS ?? 50);
const LR_ROWS = Number(process.env.KEEL_BENCH_LR_ROWS ?? 400_000);
const LOAD_ROWS = Number(process.env.KEEL_BENCH_LOAD_ROWS ?? 400_000);

const python = (() => {
  if (!existsSync(PYTHON)) return `${PYTHON} not found`;
  const probe = spawnSync(PYTHON, ['-c', 'import xgboost, sklearn, pandas'], { encoding: 'utf8' });
  return probe.status === 0
    ? undefined
    : 'python3-xgboost, python3-sklearn or python3-pandas is not installed';
})();

function peer<T>(args: string[]): T | undefined {
  if (python) return undefined;
  const env = { ...process.env, OMP_NUM_THREADS: '1', OPENBLAS_NUM_THREADS: '1' };
  const run = spawnSync(PYTHON, [SCRIPT, ...args], { encoding: 'utf8', env, maxBuffer: 1 << 24 });
  if (run.status !== 0) throw new Error(`${SCRIPT} ${args.join(' ')} failed: ${run.stderr}`);
  return JSON.parse(run.stdout) as T;
}

const cpuSeconds = (work: () => void): number => {
  const start = process.cpuUsage();
  work();
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1e6;
};
const f = (v: number, digits = 2) => v.toFixed(digits);

function gbdt(): void {
  const params = {
    iterations: ITERATIONS,
    learningRate: 0.1,
    maxDepth: 6,
    maxLeaves: 64,
    minSamplesLeaf: 1,
    minChildWeight: 1,
    l2: 1,
    maxBins: 255,
  };
  const test = wideData(20_000, FEATURES, 16);
  console.log(
    `GBDT, ${FEATURES} columns, ${ITERATIONS} rounds, depth 6, one thread (CPU seconds, best of 2)`,
  );
  let previous: { keel: number; xgb?: number } | undefined;
  for (const n of ROWS) {
    const { x, y } = wideData(n, FEATURES);
    let keel = Number.POSITIVE_INFINITY;
    let model: ReturnType<typeof trainGbdt> | undefined;
    for (let r = 0; r < 2; r++)
      keel = Math.min(
        keel,
        cpuSeconds(() => (model = trainGbdt(x, y, params))),
      );
    const auc = rocAuc(test.y, predictGbdt(model as ReturnType<typeof trainGbdt>, test.x));
    const xgb = peer<{ xgboost: { cpu_seconds: number; auc: number } }>([
      'gbdt',
      String(n),
      String(FEATURES),
      String(ITERATIONS),
    ])?.xgboost;
    const growth = previous
      ? `  growth keel ${f(keel / previous.keel)}x${xgb && previous.xgb ? `, xgboost ${f(xgb.cpu_seconds / previous.xgb)}x` : ''}`
      : '';
    console.log(
      `${String(n).padStart(8)} rows  keel ${f(keel)} s (AUC ${f(auc, 4)})` +
        (xgb
          ? `  xgboost ${f(xgb.cpu_seconds)} s (AUC ${f(xgb.auc, 4)})  keel/xgboost ${f(keel / xgb.cpu_seconds)}`
          : '') +
        growth,
    );
    previous = { keel, xgb: xgb?.cpu_seconds };
  }
}

function logistic(): void {
  const { x, y } = wideData(LR_ROWS, FEATURES);
  let keel = Number.POSITIVE_INFINITY;
  let model: ReturnType<typeof trainLogistic> | undefined;
  for (let r = 0; r < 3; r++)
    keel = Math.min(
      keel,
      cpuSeconds(() => (model = trainLogistic(x, y, { l2: 1 }))),
    );
  const m = model as ReturnType<typeof trainLogistic>;
  // sklearn's objective over n: mean log loss + (1/C)/2 ‖β‖² / n, β on the standardised scale.
  const penalty = m.weights.reduce((s, w, j) => s + (w * m.scales[j]) ** 2, 0) / 2;
  const objective = (m.history.at(-1)?.train ?? Number.NaN) + penalty / y.length;
  console.log(
    `logistic regression, ${LR_ROWS} rows x ${FEATURES} columns, l2 = 1 (C = 1), CPU seconds, best of 3`,
  );
  console.log(
    `  keel L-BFGS   ${f(keel, 3)} s, ${m.history.length} iterations, objective ${objective.toFixed(12)}`,
  );
  if (python) return;
  // The same rows for sklearn: columns, then the labels, as float64.
  const file = join(tmpdir(), `keel-bench-lr-${LR_ROWS}x${FEATURES}.f64`);
  writeFileSync(
    file,
    Buffer.concat([...x.columns, y].map((c) => Buffer.from(c.buffer, c.byteOffset, c.byteLength))),
  );
  try {
    const sk = peer<{
      sklearn_lbfgs: {
        cpu_seconds: number;
        with_scaler_cpu_seconds: number;
        iterations: number;
        objective: number;
      };
    }>(['logistic', String(LR_ROWS), String(FEATURES), '1', file])?.sklearn_lbfgs;
    if (sk)
      console.log(
        `  sklearn lbfgs ${f(sk.cpu_seconds, 3)} s (${f(sk.with_scaler_cpu_seconds, 3)} s with StandardScaler), ` +
          `${sk.iterations} iterations, objective ${sk.objective.toFixed(12)}\n` +
          `  keel/sklearn ${f(keel / sk.cpu_seconds)} (${f(keel / sk.with_scaler_cpu_seconds)} with the scaler), ` +
          `objective keel - sklearn ${(objective - sk.objective).toExponential(2)}`,
      );
  } finally {
    rmSync(file, { force: true });
  }
}

function load(): void {
  const csv = join(tmpdir(), `keel-bench-wide-${LOAD_ROWS}x${FEATURES}.csv`);
  if (!existsSync(csv)) writeWideCsv(csv, LOAD_ROWS, FEATURES);
  const child = (args: string[]) => {
    const run = spawnSync(
      process.execPath,
      ['--import', 'tsx', join(import.meta.dirname, 'load-peak.ts'), ...args],
      {
        encoding: 'utf8',
      },
    );
    if (run.status !== 0) throw new Error(run.stderr);
    return JSON.parse(run.stdout) as { seconds: number; peak_mib: number };
  };
  const keel = child([csv]);
  const idle = child([csv, '--idle']);
  const arrays = (LOAD_ROWS * (FEATURES + 1) * 8) / 2 ** 20;
  const floor = idle.peak_mib + arrays;
  console.log(
    `CSV load, ${LOAD_ROWS} rows x ${FEATURES} columns (${csv}), peak resident memory of a fresh process`,
  );
  console.log(
    `  keel loadTable ${f(keel.peak_mib, 0)} MiB in ${f(keel.seconds)} s; floor ${f(floor, 0)} MiB ` +
      `(process with DuckDB ${f(idle.peak_mib, 0)} + arrays ${f(arrays, 0)}), keel/floor ${f(keel.peak_mib / floor)}`,
  );
  const pandas = peer<{ pandas: { peak_mib: number; seconds: number } }>(['pandas', csv])?.pandas;
  if (pandas)
    console.log(
      `  pandas read_csv ${f(pandas.peak_mib, 0)} MiB in ${f(pandas.seconds)} s, keel/pandas ${f(keel.peak_mib / pandas.peak_mib)}`,
    );
}

const which = process.argv[2];
if (python) console.log(`peers skipped: ${python}`);
if (!which || which === 'gbdt') gbdt();
if (!which || which === 'logistic') logistic();
if (!which || which === 'load') load();
