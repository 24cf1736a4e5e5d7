import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  evaluateModel,
  fairnessMetrics,
  fairnessReport,
  readThresholds,
  trainFromConfig,
} from '../../src/ml/index.js';
import { tempDir } from '../helpers/temp.js';
import { writeSyntheticCsv } from './synthetic.js';

describe('evaluateModel', () => {
  const dir = tempDir();
  const data = writeSyntheticCsv(dir);
  const model = join(dir, 'm.onnx');

  beforeAll(async () => {
    await trainFromConfig(
      {
        data: {
          path: data,
          target: 'label',
          positiveLabel: 'yes',
          features: ['a', 'b', 'c', 'colour'],
          categorical: ['colour'],
        },
        split: { column: 'split' },
        model: { kind: 'gbdt', params: { iterations: 20 } },
      },
      { out: model },
    );
  });

  it('computes metrics from the model and its recorded target, writes the plot CSVs and metrics.json', async () => {
    const out = join(dir, 'eval');
    const r = await evaluateModel({ model, data, sensitive: ['colour'], outDir: out });
    expect(r.task).toBe('binary');
    expect(r.rows).toBe(600);
    expect(r.metrics.roc_auc).toBeGreaterThan(0.7);
    expect(r.passed).toBe(true);
    const roc = readFileSync(join(out, 'roc.csv'), 'utf8').trim().split('\n');
    expect(roc[0]).toBe('fpr,tpr,threshold');
    expect(roc[1]).toBe('0,0,inf');
    expect(roc.at(-1)?.startsWith('1,1,')).toBe(true);
    // The AUC of the written curve is the reported one.
    const pts = roc.slice(1).map((l) => l.split(',').map(Number));
    const area = pts.slice(1).reduce((s, p, i) => s + ((p[0] - pts[i][0]) * (p[1] + pts[i][1])) / 2, 0);
    expect(area).toBeCloseTo(r.metrics.roc_auc as number, 12);
    const cm = readFileSync(join(out, 'confusion_matrix.csv'), 'utf8');
    expect(cm).toBe(
      `actual,predicted_0,predicted_1\n0,${r.confusion!.tn},${r.confusion!.fp}\n1,${r.confusion!.fn},${r.confusion!.tp}\n`,
    );
    const fairness = readFileSync(join(out, 'fairness.csv'), 'utf8').trim().split('\n');
    expect(fairness.map((l) => l.split(',').slice(0, 2).join(','))).toEqual([
      'column,group',
      'colour,blue',
      'colour,green',
      'colour,red',
    ]);
    expect(JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8')).metrics.roc_auc).toBe(
      r.metrics.roc_auc,
    );
    expect(r.fairness.colour.groups.reduce((s, g) => s + g.count, 0)).toBe(600);
  });

  it('reports failing thresholds, including fairness ones, without throwing', async () => {
    const path = join(dir, 'th.yaml');
    writeFileSync(
      path,
      'roc_auc: { min: 0.99 }\nlog_loss: { max: 5 }\ncolour.disparate_impact_ratio: { min: 0 }\n',
    );
    const r = await evaluateModel({ model, data, sensitive: ['colour'], thresholds: readThresholds(path) });
    expect(r.passed).toBe(false);
    expect(r.checks.map((c) => [c.metric, c.passed])).toEqual([
      ['roc_auc', false],
      ['log_loss', true],
      ['colour.disparate_impact_ratio', true],
    ]);
  });

  it('refuses a threshold on an unknown metric and a thresholds file without bounds', async () => {
    await expect(evaluateModel({ model, data, thresholds: { auc: { min: 0.5 } } })).rejects.toThrow(
      /unknown metric 'auc'/,
    );
    const path = join(dir, 'empty.yaml');
    writeFileSync(path, 'roc_auc: {}\n');
    expect(() => readThresholds(path)).toThrow(/roc_auc: give min or max/);
  });
});

describe('evaluateModel on a foreign model', () => {
  it('scores a model without Keel metadata, its task from its output and its columns from the file', async () => {
    const dir = tempDir();
    const data = join(dir, 'd.csv');
    const rows = ['u,v,w,y'];
    for (let i = 0; i < 40; i++) rows.push(`${(i % 7) - 3},${(i % 5) - 2},${(i % 3) - 1},${i % 2}`);
    writeFileSync(data, `${rows.join('\n')}\n`);
    const model = join(import.meta.dirname, 'fixtures', 'foreign_logistic.onnx');
    // Its output 'prob' [batch, 1] is a Sigmoid's: a classifier, fed the file's three columns.
    const r = await evaluateModel({ model, data, target: 'y' });
    expect(r.task).toBe('binary');
    expect(r.features).toEqual(['u', 'v', 'w']);
    // p = sigmoid(0.5u - 1.25v + 2w + 0.1), scored by ONNX Runtime; check the log loss against it.
    let loss = 0;
    for (let i = 0; i < 40; i++) {
      const [u, v, w] = [(i % 7) - 3, (i % 5) - 2, (i % 3) - 1];
      const p = 1 / (1 + Math.exp(-(0.5 * u - 1.25 * v + 2 * w + 0.1)));
      loss -= i % 2 === 1 ? Math.log(p) : Math.log(1 - p);
    }
    expect(r.metrics.log_loss).toBeCloseTo(loss / 40, 5);
  });
});

describe('fairnessMetrics', () => {
  it('names each figure as thresholds do, and gives the lowest disparate impact over the columns', () => {
    const y = [1, 0, 1, 0, 1, 0, 1, 0];
    const score = [0.9, 0.8, 0.7, 0.1, 0.9, 0.2, 0.3, 0.1];
    // sex: a selects 3 of 4, b 1 of 4 (ratio 1/3); region: u selects 2 of 4, v 2 of 4 (ratio 1).
    const metrics = fairnessMetrics({
      sex: fairnessReport(y, score, ['a', 'a', 'a', 'a', 'b', 'b', 'b', 'b']),
      region: fairnessReport(y, score, ['u', 'v', 'u', 'v', 'v', 'u', 'v', 'u']),
      // No row selected: the disparate impact ratio (0 / 0) is undefined.
      only: fairnessReport([0, 1], [0.2, 0.1], ['x', 'y']),
    });
    expect(metrics['sex.disparate_impact_ratio']).toBeCloseTo(1 / 3, 12);
    expect(metrics['sex.demographic_parity_difference']).toBeCloseTo(0.5, 12);
    expect(metrics['region.disparate_impact_ratio']).toBe(1);
    expect(metrics.disparate_impact).toBeCloseTo(1 / 3, 12);
    expect(metrics).not.toHaveProperty('only.disparate_impact_ratio');
    expect(metrics['only.equal_opportunity_difference']).toBe(0);
    expect(Object.values(metrics).every((v) => Number.isFinite(v))).toBe(true);
  });
});
