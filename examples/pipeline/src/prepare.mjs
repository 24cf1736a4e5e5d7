// Splits a CSV into train.csv and test.csv after a seeded shuffle.
// Usage: node prepare.mjs <in.csv> <out-dir> <split_ratio> <seed>
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const [input, outDir, ratio, seed] = process.argv.slice(2);
const [header, ...rows] = readFileSync(input, 'utf8').trim().split('\n');
let state = Number(seed) >>> 0 || 1;
const random = () => {
  // xorshift32: the same seed gives the same split on every machine.
  state ^= state << 13;
  state ^= state >>> 17;
  state ^= state << 5;
  return (state >>> 0) / 2 ** 32;
};
for (let i = rows.length - 1; i > 0; i--) {
  const j = Math.floor(random() * (i + 1));
  [rows[i], rows[j]] = [rows[j], rows[i]];
}
const nTest = Math.round(rows.length * Number(ratio));
mkdirSync(outDir, { recursive: true });
writeFileSync(join(outDir, 'test.csv'), [header, ...rows.slice(0, nTest)].join('\n') + '\n');
writeFileSync(join(outDir, 'train.csv'), [header, ...rows.slice(nTest)].join('\n') + '\n');
console.log(`prepare: ${rows.length - nTest} train rows, ${nTest} test rows`);
