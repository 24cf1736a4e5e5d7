/**
 * What the seed's model optimizations buy, each against its baseline measured in the same run:
 *
 * - INT8 dynamic quantization of an MLP (`quantizeDynamic`): size, and the median time of one
 *   ONNX Runtime call at 1 and 100 rows, against the FP32 model; the largest score change.
 * - Session options: Keel's serving defaults (full optimizations, one intra-op thread) against
 *   ONNX Runtime's own defaults (a thread per core), per call at 1 and 100 rows.
 * - The saved optimized graph (`openCachedSession`): time to open a session from it (its sha256
 *   checked, the optimizer off) against optimizing the model again.
 *
 * Run: npx tsx bench/ml/quantize.ts
 */
import { createHash } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  loadOrt,
  type OnnxSession,
  openCachedSession,
  openOnnxSession,
  quantizeDynamic,
  Rng,
} from '../../src/ml/index.js';
import { mlpModelBytes } from '../../test/helpers/onnx.js';

const F = 128;
const H = 512;
const CALLS = 2_000;
const ort = await loadOrt();
const fp32 = mlpModelBytes({ inputs: F, hidden: H, seed: 1 });
const int8 = quantizeDynamic(fp32);
const rng = new Rng(2);
const batch = (rows: number) =>
  new ort.Tensor(
    'float32',
    Float32Array.from({ length: rows * F }, () => rng.next() * 4 - 2),
    [rows, F],
  );

async function medianCallMs(session: OnnxSession, rows: number): Promise<number> {
  const feeds = { input: batch(rows) };
  const calls = Math.max(50, Math.round(CALLS / Math.sqrt(rows)));
  for (let i = 0; i < 200; i++) await session.run(feeds);
  const times: number[] = [];
  for (let i = 0; i < calls; i++) {
    const t = performance.now();
    await session.run(feeds);
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

const row = (label: string, value: string, ratio?: number) =>
  console.log(
    `${label.padEnd(44)} ${value.padStart(12)}${ratio === undefined ? '' : `   ratio ${ratio.toFixed(2)}`}`,
  );

console.log(`MLP ${F} -> ${H} -> 1 (MatMul + Add + Relu + MatMul + Sigmoid)`);
row('size FP32 (bytes)', fp32.byteLength.toLocaleString('en-US'));
row('size INT8 (bytes)', int8.int8Bytes.toLocaleString('en-US'), int8.int8Bytes / fp32.byteLength);

const s32 = await openOnnxSession(fp32);
const s8 = await openOnnxSession(int8.bytes);
const ortDefaults = await (await loadOrt()).InferenceSession.create(fp32);
const probe = { input: batch(1000) };
const [p32, p8] = [await s32.run(probe), await s8.run(probe)].map((o) => o.probability.data as Float32Array);
let maxDiff = 0;
for (let i = 0; i < p32.length; i++) maxDiff = Math.max(maxDiff, Math.abs(p32[i] - p8[i]));
row('largest score change, 1,000 rows', maxDiff.toFixed(5));

// Rounds interleave the sessions, so a machine busier in one moment does not favour one of them.
for (const rows of [1, 100]) {
  const runs: Record<'fp32' | 'int8' | 'ort', number[]> = { fp32: [], int8: [], ort: [] };
  for (let round = 0; round < 3; round++) {
    runs.fp32.push(await medianCallMs(s32, rows));
    runs.int8.push(await medianCallMs(s8, rows));
    runs.ort.push(await medianCallMs(ortDefaults, rows));
  }
  const [base, q, def] = [runs.fp32, runs.int8, runs.ort].map((r) => r.sort((a, b) => a - b)[1]);
  row(`FP32 call, ${rows} rows, Keel session (ms)`, base.toFixed(4));
  row(`INT8 call, ${rows} rows, Keel session (ms)`, q.toFixed(4), q / base);
  row(`FP32 call, ${rows} rows, ORT defaults (ms)`, def.toFixed(4), def / base);
}
await Promise.all([s32.release(), s8.release(), ortDefaults.release()]);

const cache = mkdtempSync(join(tmpdir(), 'keel-bench-opt-'));
const timed = async (open: () => Promise<OnnxSession>): Promise<number> => {
  const t = performance.now();
  const s = await open();
  const ms = performance.now() - t;
  await s.release();
  return ms;
};
const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];
for (const [name, bytes] of [
  ['FP32', fp32],
  ['INT8', int8.bytes],
] as const) {
  // As serving opens it: the registry recorded (and verified) the file's sha256.
  const known = { dir: cache, sourceSha256: createHash('sha256').update(bytes).digest('hex') };
  await openCachedSession(bytes, {}, known).then((c) => c.session.release());
  const fresh: number[] = [];
  const saved: number[] = [];
  // Alternating, so a busier moment of the machine weighs on both alike.
  for (let i = 0; i < 60; i++) {
    fresh.push(await timed(() => openOnnxSession(bytes)));
    saved.push(await timed(async () => (await openCachedSession(bytes, {}, known)).session));
  }
  const base = median(fresh);
  row(`open ${name}, optimizing (ms)`, base.toFixed(2));
  row(`open ${name}, from the saved graph (ms)`, median(saved).toFixed(2), median(saved) / base);
}
