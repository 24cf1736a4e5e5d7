/** Small seeded data sets for the ml tests. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FeatureMatrix } from '../../src/ml/index.js';
import { Rng } from '../../src/ml/index.js';

export interface Synthetic {
  x: FeatureMatrix;
  /** Binary labels. */
  y: Float64Array;
  /** A regression target. */
  target: Float64Array;
}

/**
 * `n` rows of 5 features; `missing` is the fraction of NaN cells. The binary label depends on
 * a, b and on whether c is missing, so a learned default direction matters.
 */
export function synthetic(n: number, seed: number, missing = 0): Synthetic {
  const rng = new Rng(seed);
  const names = ['a', 'b', 'c', 'd', 'e'];
  const columns = names.map((_, f) =>
    Float64Array.from({ length: n }, () =>
      rng.next() < missing ? Number.NaN : f === 4 ? Math.floor(rng.next() * 5) : rng.next() * 10 - 5,
    ),
  );
  const y = new Float64Array(n);
  const target = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const a = Number.isNaN(columns[0][i]) ? 0 : columns[0][i];
    const b = Number.isNaN(columns[1][i]) ? 0 : columns[1][i];
    const cMissing = Number.isNaN(columns[2][i]) ? 2 : 0;
    y[i] = a + 0.5 * b + cMissing + (rng.next() - 0.5) * 3 > 0.5 ? 1 : 0;
    target[i] = Math.sin(a) + 0.2 * b + 0.5 * cMissing + (rng.next() - 0.5) * 0.2;
  }
  return { x: { names, columns }, y, target };
}

/** Writes `data.csv` in `dir`: features a..e, a text `colour`, a yes/no `label`, a numeric `amount`, a `split`. */
export function writeSyntheticCsv(dir: string, n = 600): string {
  const { x, y, target } = synthetic(n, 21, 0.05);
  const cell = (v: number) => (Number.isNaN(v) ? '' : String(v));
  const lines = ['a,b,c,d,e,colour,label,amount,split'];
  for (let i = 0; i < n; i++) {
    const row = x.columns.map((c) => cell(c[i]));
    lines.push(
      [
        ...row,
        ['red', 'green', 'blue'][i % 3],
        y[i] ? 'yes' : 'no',
        target[i],
        i % 4 === 0 ? 'test' : 'train',
      ].join(','),
    );
  }
  const path = join(dir, 'data.csv');
  writeFileSync(path, `${lines.join('\n')}\n`);
  return path;
}
