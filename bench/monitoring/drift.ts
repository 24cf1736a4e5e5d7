/**
 * detectDrift over 20 numeric features, 1M reference and 1M current rows (auto mode picks the
 * normed Wasserstein distance for every column: n > 1000, u > 5). Baseline, in the same run:
 * sorting the same 40 arrays with TypedArray sort, which the test itself needs (the exact W1 is an
 * integral over both sorted samples), so the ratio shows what the statistics add to the sort.
 * Target (ARCHITECTURE): under 1 s. Median of 3.
 *
 * Run: npx tsx bench/monitoring/drift.ts
 */
import { Rng } from '../../src/ml/random.js';
import { detectDrift } from '../../src/monitoring/index.js';

const ROWS = 1_000_000;
const FEATURES = 20;
const REPEATS = 3;

const rng = new Rng(11);
const normal = () => Math.sqrt(-2 * Math.log(1 - rng.next())) * Math.cos(2 * Math.PI * rng.next());
const table = (shift: number) =>
  Object.fromEntries(
    Array.from({ length: FEATURES }, (_, f) => {
      const column = new Float64Array(ROWS);
      for (let i = 0; i < ROWS; i++) column[i] = i % 100 === 0 ? Number.NaN : normal() + (f % 2 ? shift : 0);
      return [`f${f}`, column];
    }),
  );

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function time(work: () => void): number {
  const start = performance.now();
  work();
  return (performance.now() - start) / 1000;
}

const reference = table(0);
const current = table(0.15);
const sortTimes: number[] = [];
const driftTimes: number[] = [];
let drifted = 0;
for (let r = 0; r < REPEATS; r++) {
  sortTimes.push(
    time(() => {
      for (const t of [reference, current]) for (const column of Object.values(t)) column.slice().sort();
    }),
  );
  driftTimes.push(
    time(() => {
      drifted = detectDrift({ reference, current }).driftedColumns;
    }),
  );
}
const sort = median(sortTimes);
const drift = median(driftTimes);
console.log(
  `${FEATURES} numeric features, ${ROWS.toLocaleString('en-US')} reference + ${ROWS.toLocaleString('en-US')} current rows (1% missing)`,
);
console.log(`baseline: TypedArray sort of the 40 arrays  ${sort.toFixed(3)} s`);
console.log(
  `detectDrift (wasserstein, normed)           ${drift.toFixed(3)} s  (${drifted} columns drifted)`,
);
console.log(`ratio detectDrift / sort                    ${(drift / sort).toFixed(2)}`);
