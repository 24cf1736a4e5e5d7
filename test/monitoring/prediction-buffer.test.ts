/**
 * The prediction log's buffer (monitoring/prediction-buffer): what a write takes is what was
 * appended, field for field and in order, whichever way the inputs came (an encoded tensor, looked-up
 * numbers with missing values, text keys kept as given); the bound drops the oldest requests whole
 * and counts their rows; a failed write's entries go back in front of the newer ones.
 */
import { describe, expect, it } from 'vitest';
import type { PredictionEntry } from '../../src/monitoring/index.js';
import { PredictionBuffer } from '../../src/monitoring/prediction-buffer.js';

const entry = (requestId: string, rows: number, extra: Partial<PredictionEntry> = {}): PredictionEntry => ({
  timestamp: 1_714_600_000_000 + rows,
  requestId,
  model: 'churn',
  version: '3',
  canary: false,
  latencyMs: 0.25,
  scores: Float64Array.from({ length: rows }, (_, r) => r / 10),
  inputs: {
    columns: ['tenure', 'spend'],
    values: Float32Array.from({ length: rows * 2 }, (_, k) => k + 0.5),
  },
  ...extra,
});

/** An entry as plain values, so typed arrays of either width compare by their numbers. */
const plain = (e: PredictionEntry) => {
  const { inputs } = e;
  return {
    ...e,
    scores: Array.from(e.scores),
    inputs:
      'values' in inputs
        ? {
            columns: [...inputs.columns],
            width: inputs.values.BYTES_PER_ELEMENT,
            values: Array.from(inputs.values),
          }
        : inputs,
  };
};

describe('PredictionBuffer', () => {
  it('gives back every request as appended, in order, its inputs in the column types they came with', () => {
    const drops: number[] = [];
    const buffer = new PredictionBuffer(1000, (rows) => drops.push(rows));
    const tensor = entry('a', 2, { canary: true });
    // Looked up: key and feature columns of numbers, one missing; they are logged as DOUBLE.
    const lookedUp = entry('b', 2, {
      shadow: true,
      latencyMs: 3.75,
      inputs: {
        keys: { customer_id: [17850, 2 ** 53 - 1] },
        byColumn: new Map<string, unknown[]>([
          ['orders', [3, null]],
          ['spend', [0.1 + 0.2, Number.NaN]],
        ]),
      },
    });
    // A text key, or a boolean after numbers: kept as given.
    const text = entry('c', 1, {
      inputs: { keys: { customer_id: ['00123'] }, byColumn: new Map([['orders', [3]]]) },
    });
    const flag = entry('c2', 1, {
      inputs: { keys: { customer_id: [7] }, byColumn: new Map<string, unknown[]>([['vip', [true]]]) },
    });
    // A large tensor (its numbers outside the heap) is kept as it came.
    const large = entry('d', 40);
    for (const e of [tensor, lookedUp, text, flag, large]) buffer.push(e);
    expect(buffer.rows).toBe(46);
    const taken = buffer.take();
    expect(buffer.rows).toBe(0);
    expect(buffer.take()).toEqual([]);
    expect(taken.map(plain)).toEqual([
      plain(tensor),
      {
        ...plain(lookedUp),
        inputs: {
          columns: ['customer_id', 'orders', 'spend'],
          width: 8,
          values: [17850, 3, 0.1 + 0.2, 2 ** 53 - 1, Number.NaN, Number.NaN],
        },
      },
      plain(text),
      plain(flag),
      plain(large),
    ]);
    expect(taken[2].inputs).toBe(text.inputs);
    expect(taken[3].inputs).toBe(flag.inputs);
    expect(taken[4].inputs).toBe(large.inputs);
    expect(taken[0].inputs).not.toBe(tensor.inputs);
    expect(taken.map((e) => e.shadow)).toEqual([undefined, true, undefined, undefined, undefined]);
    expect(drops).toEqual([]);
  });

  it('drops the oldest requests whole past its bound, counting their rows', () => {
    const drops: number[] = [];
    const buffer = new PredictionBuffer(5, (rows) => drops.push(rows));
    buffer.push(entry('a', 2));
    buffer.push(entry('b', 2));
    buffer.push(entry('c', 2));
    expect(drops).toEqual([2]);
    expect(buffer.rows).toBe(4);
    // A request larger than the bound is dropped too, once the older ones are gone.
    buffer.push(entry('d', 6));
    expect(drops).toEqual([2, 2, 2, 6]);
    expect(buffer.rows).toBe(0);
    buffer.push(entry('e', 1));
    expect(buffer.take().map((e) => e.requestId)).toEqual(['e']);
  });

  it('puts a failed write back in front of the newer requests, then keeps to its bound', () => {
    const drops: number[] = [];
    const buffer = new PredictionBuffer(4, (rows) => drops.push(rows));
    buffer.push(entry('a', 1));
    buffer.push(entry('b', 1));
    const failed = buffer.take();
    buffer.push(entry('c', 1));
    buffer.push(entry('d', 2));
    buffer.putBack(failed);
    expect(drops).toEqual([1]);
    const taken = buffer.take();
    expect(taken.map((e) => e.requestId)).toEqual(['b', 'c', 'd']);
    expect(taken.map(plain)).toEqual([entry('b', 1), entry('c', 1), entry('d', 2)].map(plain));
  });

  it('keeps its numbers in step with its requests after dropping thousands', () => {
    // Each request's numbers are its own, so a request read at another's offset shows.
    const numbered = (i: number) => {
      const rows = 1 + (i % 3);
      return entry(`r${i}`, rows, {
        latencyMs: i,
        scores: Float64Array.from({ length: rows }, (_, r) => i + r / 10),
        inputs: { columns: ['tenure'], values: Float32Array.from({ length: rows }, (_, r) => i * 4 + r) },
      });
    };
    const rowsUpTo = (n: number) =>
      Array.from({ length: n }, (_, i) => 1 + (i % 3)).reduce((s, r) => s + r, 0);
    // The buffer sheds its dropped slots after a thousand drops; taking at every count around
    // the first and the second time reads requests kept from before it and after it.
    // A small bound keeps few requests across that point, a large one many, whose numbers the
    // requests after it must not overwrite.
    const counts = Array.from({ length: 101 }, (_, k) => 1020 + k);
    const cases = [
      ...[...counts, ...counts.map((c) => c * 2)].map((n) => ({ max: 30, n })),
      ...Array.from({ length: 26 }, (_, k) => ({ max: 2000, n: 2040 + 4 * k })),
    ];
    for (const { max, n } of cases) {
      let dropped = 0;
      const buffer = new PredictionBuffer(max, (rows) => {
        dropped += rows;
      });
      for (let i = 0; i < n; i++) buffer.push(numbered(i));
      const taken = buffer.take();
      const rows = taken.reduce((s, e) => s + e.scores.length, 0);
      expect(rows).toBeLessThanOrEqual(max);
      expect(dropped + rows).toBe(rowsUpTo(n));
      expect(taken.at(-1)?.requestId).toBe(`r${n - 1}`);
      expect(taken.map(plain)).toEqual(taken.map((e) => plain(numbered(e.latencyMs))));
    }
  });
});
