/**
 * Does the prediction log keep up with what one server scores? A Keel-trained GBDT over 10 numeric
 * features (100 trees) is served as `keel serve` serves it (ServingModel, one ONNX Runtime thread);
 * requests carry 100 rows each.
 *
 * 1. Scoring alone: rows/s of 100-row ONNX Runtime calls back to back. This is the ceiling of
 *    what one server process scores (HTTP, parsing and encoding only lower it).
 * 2. Writing alone: rows/s of the log's writer, appending 100-row entries (the tensor by column
 *    name, as `/invocations` logs it) and writing them to Parquet; with the process's CPU time
 *    (every thread's) a row.
 * 3. Both on one event loop, as in a server: each scored request is appended; the log writes in
 *    the background with its default settings. Reports rows scored, written and dropped.
 *
 * The ratio that matters: writing rows/s over scoring rows/s (> 1 keeps up). Median of 3.
 *
 * Run: npx tsx bench/monitoring/prediction-log.ts
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../../src/core/index.js';
import { exportOnnx, Rng, trainGbdt } from '../../src/ml/index.js';
import { PredictionLog } from '../../src/monitoring/index.js';
import { Registry } from '../../src/registry/index.js';
import { ServingModel } from '../../src/serving/index.js';
import { tempDir } from '../../test/helpers/temp.js';

const FEATURES = 10;
const ROWS_PER_REQUEST = 100;
const REQUESTS = 3000;
const REPEATS = 3;

const dir = tempDir('keel-bench-plog-');
const config = loadConfig({ cwd: dir, env: {} });
const names = Array.from({ length: FEATURES }, (_, f) => `f${f}`);
const rng = new Rng(7);
const train = 20_000;
const columns = names.map(() => Float64Array.from({ length: train }, () => rng.next() * 4 - 2));
const y = Float64Array.from({ length: train }, (_, i) =>
  columns[0][i] + columns[1][i] * columns[2][i] > 0 ? 1 : 0,
);
const gbdt = trainGbdt({ names, columns }, y, { iterations: 100, maxLeaves: 16 });
const file = join(dir, 'model.onnx');
writeFileSync(file, exportOnnx(gbdt));
const registry = await Registry.open(config);
await registry.models.create('bench');
await registry.versions.create({ name: 'bench', source: file });
const model = await ServingModel.load(registry, 'models:/bench/1');

const requests = Array.from({ length: 64 }, () =>
  Float32Array.from({ length: ROWS_PER_REQUEST * FEATURES }, () => rng.next() * 4 - 2),
);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const rate = (rows: number, ms: number) => Math.round((rows / ms) * 1000);

async function scoring(): Promise<number> {
  const t0 = performance.now();
  for (let i = 0; i < REQUESTS; i++) await model.score(requests[i % requests.length], ROWS_PER_REQUEST);
  return rate(REQUESTS * ROWS_PER_REQUEST, performance.now() - t0);
}

const entry = (i: number, scores: Float64Array, values: Float32Array) => ({
  timestamp: Date.now(),
  requestId: `r${i}`,
  model: 'bench',
  version: '1',
  canary: false,
  latencyMs: 1.5,
  scores,
  inputs: { columns: names, values },
});

async function writing(): Promise<{ rowsPerS: number; appendUs: number; cpuUsPerRow: number }> {
  const log = new PredictionLog({
    home: config.home,
    flushIntervalMs: 3_600_000,
    flushRows: 1e9,
    maxBufferRows: 1e9,
  });
  const scores = new Float64Array(ROWS_PER_REQUEST).fill(0.5);
  // A first write loads what writing needs: not part of a write's cost.
  log.append(entry(-1, scores, requests[0]));
  await log.flush();
  const cpu0 = process.cpuUsage();
  const a0 = performance.now();
  for (let i = 0; i < REQUESTS; i++) log.append(entry(i, scores, requests[i % requests.length]));
  const appendUs = ((performance.now() - a0) * 1000) / REQUESTS;
  const t0 = performance.now();
  await log.flush();
  const rowsPerS = rate(REQUESTS * ROWS_PER_REQUEST, performance.now() - t0);
  const cpu = process.cpuUsage(cpu0);
  const cpuUsPerRow = (cpu.user + cpu.system) / (REQUESTS * ROWS_PER_REQUEST);
  await log.close();
  return { rowsPerS, appendUs, cpuUsPerRow };
}

async function both(): Promise<{ scoredPerS: number; written: number; dropped: number; scored: number }> {
  const log = new PredictionLog({ home: config.home });
  const t0 = performance.now();
  for (let i = 0; i < REQUESTS; i++) {
    const values = requests[i % requests.length];
    log.append(entry(i, await model.score(values, ROWS_PER_REQUEST), values));
  }
  const scoredPerS = rate(REQUESTS * ROWS_PER_REQUEST, performance.now() - t0);
  await log.close();
  const { writtenRows, droppedRows } = log.stats();
  return { scoredPerS, written: writtenRows, dropped: droppedRows, scored: REQUESTS * ROWS_PER_REQUEST };
}

await scoring(); // warm-up
const score: number[] = [];
const write: number[] = [];
const append: number[] = [];
const writeCpu: number[] = [];
const mixed: Array<Awaited<ReturnType<typeof both>>> = [];
for (let r = 0; r < REPEATS; r++) {
  score.push(await scoring());
  const w = await writing();
  write.push(w.rowsPerS);
  append.push(w.appendUs);
  writeCpu.push(w.cpuUsPerRow);
  mixed.push(await both());
}
const s = median(score);
const w = median(write);
console.log(
  `prediction log, ${REQUESTS} requests of ${ROWS_PER_REQUEST} rows x ${FEATURES} features, median of ${REPEATS}`,
);
console.log(`  scoring alone (ONNX Runtime, 1 thread): ${s.toLocaleString()} rows/s`);
console.log(
  `  writing alone (append + Parquet):      ${w.toLocaleString()} rows/s  (append ${median(append).toFixed(1)} us a request; CPU ${median(writeCpu).toFixed(2)} us a row)`,
);
console.log(`  writing / scoring:                      ${(w / s).toFixed(2)}x`);
for (const m of mixed)
  console.log(
    `  both on one loop: scored ${m.scoredPerS.toLocaleString()} rows/s; ${m.written.toLocaleString()} of ${m.scored.toLocaleString()} rows written, ${m.dropped.toLocaleString()} dropped`,
  );
await registry.close();
