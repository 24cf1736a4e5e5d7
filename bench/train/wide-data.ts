/**
 * The synthetic data of the scale benches: `n` rows of `f` standard normal columns and a binary
 * label drawn from a logistic model of the first ten columns with an interaction and a sine, so
 * trees and a linear model both have something to learn. `wide_reference.py` draws the same
 * distribution with numpy (not the same numbers: only the figures are compared).
 */
import { writeFileSync } from 'node:fs';
import type { FeatureMatrix } from '../../src/ml/index.js';
import { Rng } from '../../src/ml/index.js';

export const WEIGHTS = [0.8, -0.6, 0.5, -0.4, 0.3, -0.3, 0.2, -0.2, 0.1, -0.1];

export function wideData(n: number, f: number, seed = 15): { x: FeatureMatrix; y: Float64Array } {
  const rng = new Rng(seed);
  const columns = Array.from({ length: f }, () => new Float64Array(n));
  for (let j = 0; j < f; j++) {
    const col = columns[j];
    for (let i = 0; i < n; i += 2) {
      // Box-Muller: two normals from two uniforms.
      const r = Math.sqrt(-2 * Math.log(1 - rng.next()));
      const t = 2 * Math.PI * rng.next();
      col[i] = r * Math.cos(t);
      if (i + 1 < n) col[i + 1] = r * Math.sin(t);
    }
  }
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let z = 0.5 * columns[0][i] * columns[1][i] + Math.sin(2 * columns[2][i]);
    for (let j = 0; j < WEIGHTS.length && j < f; j++) z += WEIGHTS[j] * columns[j][i];
    y[i] = rng.next() < 1 / (1 + Math.exp(-z)) ? 1 : 0;
  }
  return { x: { names: columns.map((_, j) => `x${j}`), columns }, y };
}

/** Writes the data as a CSV (`x0..x{f-1},label`, 17 significant digits, as pandas writes floats). */
export function writeWideCsv(path: string, n: number, f: number): void {
  const { x, y } = wideData(n, f);
  const lines: string[] = [[...x.names, 'label'].join(',')];
  const chunk: string[] = [];
  writeFileSync(path, `${lines[0]}\n`);
  for (let i = 0; i < n; i++) {
    chunk.push(`${x.columns.map((c) => c[i]).join(',')},${y[i]}`);
    if (chunk.length === 10_000 || i === n - 1) {
      writeFileSync(path, `${chunk.join('\n')}\n`, { flag: 'a' });
      chunk.length = 0;
    }
  }
}
