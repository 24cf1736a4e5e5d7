// Scores the test set: accuracy and AUC, a confusion matrix and a ROC curve.
// Usage: node evaluate.mjs <model.json> <test.csv> <metrics-dir>
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const [modelPath, input, outDir] = process.argv.slice(2);
const { weights: w } = JSON.parse(readFileSync(modelPath, 'utf8'));
const rows = readFileSync(input, 'utf8')
  .trim()
  .split('\n')
  .slice(1)
  .map((l) => l.split(',').map(Number));
const scored = rows.map((r) => ({ y: r[2], p: 1 / (1 + Math.exp(-(w[0] + w[1] * r[0] + w[2] * r[1]))) }));
const accuracy = scored.filter((s) => (s.p >= 0.5 ? 1 : 0) === s.y).length / scored.length;
const pos = scored.filter((s) => s.y === 1).length;
const neg = scored.length - pos;
const sorted = [...scored].sort((a, b) => b.p - a.p);
const roc = [['fpr', 'tpr', 'threshold'].join(',')];
let tp = 0;
let fp = 0;
let auc = 0;
roc.push('0,0,1');
for (const s of sorted) {
  if (s.y === 1) tp++;
  else {
    fp++;
    auc += tp / pos / neg;
  }
  roc.push(`${fp / neg},${tp / pos},${s.p.toFixed(6)}`);
}
mkdirSync(outDir, { recursive: true });
writeFileSync(join(outDir, 'eval.json'), JSON.stringify({ accuracy, auc, n: scored.length }, null, 2) + '\n');
writeFileSync(join(outDir, 'roc_curve.csv'), roc.join('\n') + '\n');
const cm = ['actual,predicted', ...scored.map((s) => `${s.y},${s.p >= 0.5 ? 1 : 0}`)];
writeFileSync(join(outDir, 'confusion_matrix.csv'), cm.join('\n') + '\n');
console.log(`evaluate: accuracy ${accuracy.toFixed(3)}, auc ${auc.toFixed(3)}`);
