/**
 * @module registry/benchmark
 * Latency of a model in ONNX Runtime on a sample batch built from its signature: what the latency
 * gate reads. Symbolic dimensions take the batch size (the first) or 1 (the others); values are a
 * fixed pseudo-random sequence so two runs time the same work.
 */
import { KeelError, type ProgressFn } from '../core/index.js';
import { loadOrt, openOnnxSession } from '../ml/index.js';
import type { BenchmarkResult, Signature } from './types.js';

type Tensor = import('onnxruntime-node').Tensor;

/** One input feed per signature input, with `batchSize` rows. @throws INVALID_PARAMETER_VALUE for an input type it cannot fill. */
export async function sampleFeeds(signature: Signature, batchSize: number): Promise<Record<string, Tensor>> {
  const { Tensor } = await loadOrt();
  let seed = 12345;
  const next = () => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed / 2147483648;
  };
  const feeds: Record<string, Tensor> = {};
  for (const input of signature.inputs) {
    const dims = input.shape.map((d, i) => (typeof d === 'number' && d > 0 ? d : i === 0 ? batchSize : 1));
    const size = dims.reduce((a, b) => a * b, 1);
    switch (input.type) {
      case 'float32':
        feeds[input.name] = new Tensor('float32', Float32Array.from({ length: size }, next), dims);
        break;
      case 'float64':
        feeds[input.name] = new Tensor('float64', Float64Array.from({ length: size }, next), dims);
        break;
      case 'int64':
        feeds[input.name] = new Tensor(
          'int64',
          BigInt64Array.from({ length: size }, () => BigInt(Math.floor(next() * 10))),
          dims,
        );
        break;
      case 'int32':
        feeds[input.name] = new Tensor(
          'int32',
          Int32Array.from({ length: size }, () => Math.floor(next() * 10)),
          dims,
        );
        break;
      case 'string':
        feeds[input.name] = new Tensor(
          'string',
          Array.from({ length: size }, () => 'a'),
          dims,
        );
        break;
      case 'bool':
        feeds[input.name] = new Tensor(
          'bool',
          Uint8Array.from({ length: size }, () => (next() < 0.5 ? 0 : 1)),
          dims,
        );
        break;
      default:
        throw new KeelError(
          'INVALID_PARAMETER_VALUE',
          `Cannot build a sample for input '${input.name}' of type ${input.type}`,
        );
    }
  }
  return feeds;
}

/**
 * The outputs to fetch: ONNX Runtime for Node cannot return non-tensor outputs (the sequence of
 * maps sklearn's ZipMap makes), so only tensors are asked for.
 */
export const tensorOutputs = (signature: Signature): string[] =>
  signature.outputs.filter((o) => o.type !== 'non-tensor').map((o) => o.name);

/** Runs the model once on a one-row sample: proof that it loads and predicts. */
export async function dryRun(path: string, signature: Signature): Promise<void> {
  const session = await openOnnxSession(path);
  try {
    await session.run(await sampleFeeds(signature, 1), tensorOutputs(signature));
  } finally {
    await session.release();
  }
}

export interface BenchmarkOptions {
  /** Rows per call (default 1: one online request). */
  batchSize?: number;
  /** Timed calls (default 200), after `warmup` untimed ones (default 20). */
  iterations?: number;
  warmup?: number;
  onProgress?: ProgressFn;
}

const quantile = (sorted: number[], q: number) =>
  sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];

/** Times `iterations` calls of the model on one sample batch. Times in ms. */
export async function benchmarkModel(
  path: string,
  signature: Signature,
  options: BenchmarkOptions & { now: () => number },
): Promise<BenchmarkResult> {
  const batchSize = options.batchSize ?? 1;
  const iterations = options.iterations ?? 200;
  const session = await openOnnxSession(path);
  try {
    const feeds = await sampleFeeds(signature, batchSize);
    const fetches = tensorOutputs(signature);
    for (let i = 0; i < (options.warmup ?? 20); i++) await session.run(feeds, fetches);
    const times: number[] = [];
    for (let i = 0; i < iterations; i++) {
      const start = performance.now();
      await session.run(feeds, fetches);
      times.push(performance.now() - start);
      if (i % 20 === 0)
        options.onProgress?.({ label: 'benchmark', done: i, total: iterations, unit: 'calls' });
    }
    times.sort((a, b) => a - b);
    const round = (x: number) => Math.round(x * 1000) / 1000;
    return {
      batch_size: batchSize,
      iterations,
      p50_ms: round(quantile(times, 0.5)),
      p99_ms: round(quantile(times, 0.99)),
      measured_at: options.now(),
    };
  } finally {
    await session.release();
  }
}
