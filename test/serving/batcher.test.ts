/**
 * The micro-batcher on its own: batches form from concurrent calls within the size and time
 * limits, every caller gets exactly its rows' scores back in order, and a failed batch fails each
 * of its callers and nobody else. The model here is a plain function of the rows (a row's score
 * is its first value times 10 plus its second), run with a random delay to shuffle completions.
 */
import { describe, expect, it } from 'vitest';
import { KeelError } from '../../src/core/index.js';
import { MicroBatcher } from '../../src/serving/index.js';
import { random } from '../features/helpers.js';

const WIDTH = 2;

/** A model whose calls are recorded (rows per call) and which fails on a row whose first value is < 0. */
function model(rand = random(7)) {
  const calls: number[] = [];
  const run = async (values: Float32Array, rows: number) => {
    calls.push(rows);
    await new Promise((r) => setTimeout(r, Math.floor(rand() * 3)));
    const out = new Float64Array(rows);
    for (let i = 0; i < rows; i++) {
      if (values[i * WIDTH] < 0) throw new KeelError('INVALID_PARAMETER_VALUE', `bad row ${i}`);
      out[i] = values[i * WIDTH] * 10 + values[i * WIDTH + 1];
    }
    return out;
  };
  return { calls, run };
}

/** `rows` rows for caller `id`: first value the caller, second the row. */
const rowsOf = (id: number, rows: number) =>
  Float32Array.from({ length: rows * WIDTH }, (_, k) => (k % WIDTH === 0 ? id : Math.floor(k / WIDTH)));

describe('MicroBatcher', () => {
  it('gives each of many concurrent callers its own rows, in order, within maxBatchSize', async () => {
    const m = model();
    const batcher = new MicroBatcher(m.run, WIDTH, { maxBatchSize: 10, maxLatencyMs: 1 });
    const rand = random(11);
    const sizes = Array.from({ length: 300 }, () => 1 + Math.floor(rand() * 4));
    const results = await Promise.all(sizes.map((n, id) => batcher.score(rowsOf(id, n), n)));
    results.forEach((scores, id) => {
      expect(Array.from(scores)).toEqual(Array.from({ length: sizes[id] }, (_, r) => id * 10 + r));
    });
    expect(m.calls.reduce((a, b) => a + b, 0)).toBe(sizes.reduce((a, b) => a + b, 0));
    expect(Math.max(...m.calls)).toBeLessThanOrEqual(10);
    // Merged: far fewer calls than callers.
    expect(m.calls.length).toBeLessThan(sizes.length / 2);
  });

  it('runs a request larger than maxBatchSize alone, and flushes a full batch at once', async () => {
    const m = model();
    const batcher = new MicroBatcher(m.run, WIDTH, { maxBatchSize: 4, maxLatencyMs: 10_000 });
    const started = Date.now();
    const [a, b, c, d] = await Promise.all([
      batcher.score(rowsOf(1, 3), 3),
      batcher.score(rowsOf(2, 6), 6),
      batcher.score(rowsOf(3, 1), 1),
      batcher.score(rowsOf(4, 3), 3),
    ]);
    expect(Array.from(a)).toEqual([10, 11, 12]);
    expect(Array.from(b)).toEqual([20, 21, 22, 23, 24, 25]);
    expect(Array.from(c)).toEqual([30]);
    expect(Array.from(d)).toEqual([40, 41, 42]);
    // The 6 would overflow the 3 queued: the 3 go, then the 6 alone; 1 + 3 fill a batch, so nobody
    // waited for the 10 s window.
    expect(m.calls).toEqual([3, 6, 4]);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('with maxLatencyMs 0 runs a call that finds the model idle at once and merges those that overlap a run', async () => {
    const m = model();
    const batcher = new MicroBatcher(m.run, WIDTH, { maxBatchSize: 64, maxLatencyMs: 0 });
    // The first finds the model idle; the other two arrive while it runs and go together after it.
    const first = await Promise.all([1, 2, 3].map((id) => batcher.score(rowsOf(id, 1), 1)));
    expect(first.map((s) => Array.from(s))).toEqual([[10], [20], [30]]);
    expect(m.calls).toEqual([1, 2]);
    // Calls that overlap a run fill batches up to the limit, never beyond.
    const small = new MicroBatcher(m.run, WIDTH, { maxBatchSize: 2, maxLatencyMs: 0 });
    m.calls.length = 0;
    const many = await Promise.all([4, 5, 6, 7, 8].map((id) => small.score(rowsOf(id, 1), 1)));
    expect(many.map((s) => Array.from(s))).toEqual([[40], [50], [60], [70], [80]]);
    expect(m.calls).toEqual([1, 2, 2]);
    // A lone call reaches the model before score() even returns: no timer, no turn of the loop.
    m.calls.length = 0;
    const lone = batcher.score(rowsOf(9, 1), 1);
    expect(m.calls).toEqual([1]);
    expect(Array.from(await lone)).toEqual([90]);
  });

  it('waits up to maxLatencyMs for more callers', async () => {
    const m = model();
    const batcher = new MicroBatcher(m.run, WIDTH, { maxBatchSize: 64, maxLatencyMs: 40 });
    const first = batcher.score(rowsOf(1, 1), 1);
    await new Promise((r) => setTimeout(r, 10));
    const second = batcher.score(rowsOf(2, 2), 2);
    expect(Array.from(await first)).toEqual([10]);
    expect(Array.from(await second)).toEqual([20, 21]);
    expect(m.calls).toEqual([3]);
  });

  it("fails every caller of a failed batch with its error, and only that batch's", async () => {
    const m = model();
    const batcher = new MicroBatcher(m.run, WIDTH, { maxBatchSize: 3, maxLatencyMs: 5 });
    const results = await Promise.allSettled(
      [1, -1, 2, 3, 4, 5].map((id) => batcher.score(rowsOf(id, 1), 1)),
    );
    expect(m.calls).toEqual([3, 3]);
    expect(results.map((r) => r.status)).toEqual([
      'rejected',
      'rejected',
      'rejected',
      'fulfilled',
      'fulfilled',
      'fulfilled',
    ]);
    for (const r of results.slice(0, 3))
      expect((r as PromiseRejectedResult).reason).toMatchObject({ message: 'bad row 1' });
    expect(
      results.slice(3).map((r) => Array.from((r as PromiseFulfilledResult<Float64Array>).value)),
    ).toEqual([[30], [40], [50]]);
  });

  it('answers no rows without calling the model, and refuses values that are not rows', async () => {
    const m = model();
    const batcher = new MicroBatcher(m.run, WIDTH, { maxBatchSize: 8, maxLatencyMs: 0 });
    expect(Array.from(await batcher.score(new Float32Array(0), 0))).toEqual([]);
    await expect(batcher.score(new Float32Array(3), 2)).rejects.toMatchObject({
      code: 'INVALID_PARAMETER_VALUE',
      message: 'the model takes 2 values a row; got 3 for 2 rows',
    });
    expect(m.calls).toEqual([]);
    expect(() => new MicroBatcher(m.run, WIDTH, { maxBatchSize: 0, maxLatencyMs: 0 })).toThrow(
      /maxBatchSize/,
    );
    expect(() => new MicroBatcher(m.run, WIDTH, { maxBatchSize: 1, maxLatencyMs: -1 })).toThrow(
      /maxLatencyMs/,
    );
  });
});
