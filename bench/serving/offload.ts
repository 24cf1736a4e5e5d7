/**
 * ONNX Runtime off the event loop (keel.yaml `serving.offload`): one served model in this
 * process, the batch bench's GBDT (100 trees, 21 columns), scored in large calls back to back
 * while 1-row calls arrive on a fixed schedule, with offload off and then on, in the same run.
 * Measured per mode: the event loop's delay (perf_hooks.monitorEventLoopDelay, p99 and max), the
 * 1-row call latency (call i is due at start + i * interval and timed from when it was due, so a
 * stall counts against every call queued behind it) and the large calls' throughput.
 *
 * Run: npx tsx bench/serving/offload.ts [rowsPerLargeCall=20000] [seconds=5] [threads=1]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { LocalArtifactStore } from '../../src/artifacts/index.js';
import { Registry } from '../../src/registry/index.js';
import { ServingModel } from '../../src/serving/index.js';
import { openDatabase } from '../../src/storage/index.js';
import { Tracking } from '../../src/tracking/index.js';
import { loadAverage, registerBenchModel, TREES } from './batch-common.js';

const ROWS = Number(process.argv[2] ?? 20_000);
const SECONDS = Number(process.argv[3] ?? 5);
const THREADS = Number(process.argv[4] ?? 1);
/** 1-row calls are due every this many ms: 500 calls/s. */
const INTERVAL_MS = 2;

const quantile = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.floor(q * (xs.length - 1))];

interface Figures {
  loopP99: number;
  loopMax: number;
  smallP50: number;
  smallP99: number;
  smallMax: number;
  largeCalls: number;
  largeMs: number;
}

async function measure(model: ServingModel, large: Float32Array, small: Float32Array): Promise<Figures> {
  // Warm-up: both call sizes once (the thread, when on, started with the model).
  await model.score(large, ROWS);
  await model.score(small, 1);
  const delay = monitorEventLoopDelay({ resolution: 1 });
  const end = performance.now() + SECONDS * 1000;
  let largeCalls = 0;
  const largeLoop = (async () => {
    while (performance.now() < end) {
      await model.score(large, ROWS);
      largeCalls++;
    }
  })();
  const latencies: number[] = [];
  const pending: Promise<void>[] = [];
  const start = performance.now();
  delay.enable();
  for (let i = 0; ; i++) {
    const due = start + i * INTERVAL_MS;
    if (due >= end) break;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    // A timer may fire a little early: such a call is timed from when it went out.
    const from = Math.min(due, performance.now());
    pending.push(model.score(small, 1).then(() => void latencies.push(performance.now() - from)));
  }
  await Promise.all([largeLoop, ...pending]);
  delay.disable();
  return {
    loopP99: delay.percentile(99) / 1e6,
    loopMax: delay.max / 1e6,
    smallP50: quantile(latencies, 0.5),
    smallP99: quantile(latencies, 0.99),
    smallMax: Math.max(...latencies),
    largeCalls,
    largeMs: (performance.now() - start) / largeCalls,
  };
}

async function main() {
  const dir = mkdtempSync(join(tmpdir(), 'keel-bench-'));
  try {
    console.log(`load average at start: ${loadAverage()}`);
    const db = await openDatabase({ type: 'sqlite', path: join(dir, 'keel.db') });
    const tracking = new Tracking(db, new LocalArtifactStore(join(dir, 'artifacts')));
    await tracking.init();
    const registry = new Registry(tracking, { policy: { productionAlias: 'champion', stages: {} } });
    await registry.init();
    await registerBenchModel(registry, dir);
    const uri = 'models:/bench@champion';
    const cache = join(dir, 'onnx-optimized');

    const off = await ServingModel.load(registry, uri, { optimizedCacheDir: cache });
    const on = await ServingModel.load(registry, uri, {
      optimizedCacheDir: cache,
      offload: { threads: THREADS, minRows: 1024 },
    });
    const width = off.width;
    const large = Float32Array.from({ length: ROWS * width }, (_, i) => ((i * 7919) % 1000) / 100 - 5);
    const small = large.slice(0, width);

    // One call alone, on the main thread and through the thread: what a large call holds the
    // event loop for, and what the hop costs a call too small to need it.
    const alone = async (model: ServingModel, rows: number) => {
      const values = large.subarray(0, rows * width);
      const times: number[] = [];
      for (let i = 0; i < Math.max(10, Math.min(200, 200_000 / rows)); i++) {
        const t = performance.now();
        await model.score(values, rows);
        times.push(performance.now() - t);
      }
      return quantile(times, 0.5);
    };
    const sizes = [1024, 4096, ROWS];
    const aloneOff = [];
    const aloneOn = [];
    for (const rows of sizes) {
      aloneOff.push(await alone(off, rows));
      aloneOn.push(await alone(on, rows));
    }
    const a = await off.score(large, ROWS);
    const b = await on.score(large, ROWS);
    if (!a.every((s, i) => s === b[i])) throw new Error('offloaded scores differ from the main session');

    const offFigures = await measure(off, large, small);
    const onFigures = await measure(on, large, small);
    if (on.offloaded === 0) throw new Error('no call was offloaded');
    await Promise.all([off.release(), on.release()]);
    await registry.close();

    console.log(
      `GBDT ${TREES} trees, ${width} columns; large calls of ${ROWS.toLocaleString('en-US')} rows back to back, 1-row calls due every ${INTERVAL_MS} ms, ${SECONDS} s a mode, offload threads ${THREADS}`,
    );
    for (const [i, rows] of sizes.entries())
      console.log(
        `one call of ${rows.toLocaleString('en-US').padStart(6)} rows alone: main thread ${aloneOff[i].toFixed(3)} ms, through a thread ${aloneOn[i].toFixed(3)} ms (median)`,
      );
    const row = (label: string, f: Figures) =>
      console.log(
        `${label.padEnd(12)} loop delay p99 ${f.loopP99.toFixed(2).padStart(6)} ms max ${f.loopMax.toFixed(2).padStart(6)} ms | 1-row p50 ${f.smallP50.toFixed(2).padStart(6)} ms p99 ${f.smallP99.toFixed(2).padStart(6)} ms max ${f.smallMax.toFixed(2).padStart(6)} ms | large ${f.largeMs.toFixed(2).padStart(6)} ms/call (${f.largeCalls} calls)`,
      );
    row('offload off', offFigures);
    row('offload on', onFigures);
    const ratio = (x: number, y: number) => (x / y).toFixed(1);
    console.log(
      `off/on: loop delay p99 ${ratio(offFigures.loopP99, onFigures.loopP99)}x, max ${ratio(offFigures.loopMax, onFigures.loopMax)}x; 1-row p99 ${ratio(offFigures.smallP99, onFigures.smallP99)}x; large call time on/off ${ratio(onFigures.largeMs, offFigures.largeMs)}x`,
    );
    console.log(`load average at end: ${loadAverage()}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
