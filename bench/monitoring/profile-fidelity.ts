/**
 * How far a drift verdict from a reference profile can be from one over the full reference: the
 * profile keeps a 10,000-row sample for the value-based tests (PSI's bins and shares are computed
 * on every row, so PSI is exact), and a monitor run gives those tests at most 100,000 of a
 * window's rows. For 1,000,000 reference rows and windows of 1,000,000 rows shifted by 0 to 0.2
 * standard deviations (mean) or scaled by 0.9 to 1.1, 20 draws each: Evidently's test (the normed
 * Wasserstein distance, threshold 0.1) on the full data against the profile's sample and the
 * window's sample, its largest difference and how many verdicts differ.
 *
 * Run: npx tsx bench/monitoring/profile-fidelity.ts
 */
import { Rng } from '../../src/ml/random.js';
import { buildProfile, detectDrift } from '../../src/monitoring/index.js';

const N = 1_000_000;
const CURRENT_SAMPLE = 100_000;
const DRAWS = 20;
const rng = new Rng(17);
const normal = () => Math.sqrt(-2 * Math.log(1 - rng.next())) * Math.cos(2 * Math.PI * rng.next());
const draw = (n: number, shift: number, scale: number) =>
  Float64Array.from({ length: n }, () => normal() * scale + shift);

const reference = draw(N, 0, 1);
const profile = buildProfile({
  model: 'm',
  version: '1',
  createdAt: 0,
  source: {},
  columns: [{ name: 'x', values: reference }],
  scores: new Float64Array(N),
  task: 'binary',
  metrics: {},
});
const sample = profile.features[0].sample as Float64Array;
const score = (ref: Float64Array, cur: Float64Array) =>
  detectDrift({ reference: { x: ref }, current: { x: cur } }).columns[0];

console.log('scenario        full-data W1/σ   profile W1/σ   max |diff|   verdicts differing (of 20)');
for (const [label, shift, scale] of [
  ['mean +0.00σ', 0, 1],
  ['mean +0.05σ', 0.05, 1],
  ['mean +0.08σ', 0.08, 1],
  ['mean +0.10σ', 0.1, 1],
  ['mean +0.12σ', 0.12, 1],
  ['mean +0.20σ', 0.2, 1],
  ['scale x1.10', 0, 1.1],
  ['scale x0.90', 0, 0.9],
] as const) {
  let maxDiff = 0;
  let differing = 0;
  let full = 0;
  let fromProfile = 0;
  for (let d = 0; d < DRAWS; d++) {
    const current = draw(N, shift, scale);
    const idx = new Rng(d + 100).sample(N, CURRENT_SAMPLE);
    const window = Float64Array.from(idx, (i) => current[i]);
    const a = score(reference, current);
    const b = score(sample, window);
    full += a.score / DRAWS;
    fromProfile += b.score / DRAWS;
    maxDiff = Math.max(maxDiff, Math.abs(a.score - b.score));
    if (a.drifted !== b.drifted) differing++;
  }
  console.log(
    `${label.padEnd(14)}  ${full.toFixed(4).padStart(14)}  ${fromProfile.toFixed(4).padStart(13)}  ${maxDiff.toFixed(4).padStart(11)}  ${String(differing).padStart(5)}`,
  );
}
