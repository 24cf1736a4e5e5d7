// Fits a logistic regression by mini-batch gradient descent.
// Usage: node train.mjs <train.csv> <model.json> <learning_rate> <epochs> <batch_size>
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';

const [input, modelPath, lr, epochs, batchSize] = process.argv.slice(2);
const rows = readFileSync(input, 'utf8')
  .trim()
  .split('\n')
  .slice(1)
  .map((l) => l.split(',').map(Number));
const w = [0, 0, 0];
const sigmoid = (z) => 1 / (1 + Math.exp(-z));
const predict = (r) => sigmoid(w[0] + w[1] * r[0] + w[2] * r[1]);
let loss = 0;
for (let epoch = 0; epoch < Number(epochs); epoch++) {
  for (let start = 0; start < rows.length; start += Number(batchSize)) {
    const batch = rows.slice(start, start + Number(batchSize));
    const grad = [0, 0, 0];
    for (const r of batch) {
      const err = predict(r) - r[2];
      grad[0] += err;
      grad[1] += err * r[0];
      grad[2] += err * r[1];
    }
    for (let k = 0; k < 3; k++) w[k] -= (Number(lr) * grad[k]) / batch.length;
  }
}
for (const r of rows) {
  const p = Math.min(Math.max(predict(r), 1e-12), 1 - 1e-12);
  loss -= r[2] * Math.log(p) + (1 - r[2]) * Math.log(1 - p);
}
writeFileSync(modelPath, JSON.stringify({ weights: w }) + '\n');
mkdirSync('metrics', { recursive: true });
writeFileSync(
  'metrics/train.json',
  JSON.stringify({ loss: loss / rows.length, rows: rows.length }, null, 2) + '\n',
);
console.log(`train: log loss ${(loss / rows.length).toFixed(4)}`);
