import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadProject } from '../../src/pipeline/dvcfile.js';
import { chartFor, parsePlotRows } from '../../src/pipeline/plot-data.js';
import { showPlots } from '../../src/pipeline/plots.js';
import { makeProject } from './helpers.js';

describe('plots', () => {
  it('renders a confusion matrix and a ROC curve into one HTML page with inline SVG and no scripts', () => {
    const root = makeProject({
      'dvc.yaml': `stages:
  evaluate:
    cmd: "true"
    plots:
      - cm.csv:
          template: confusion
          x: actual
          y: predicted
      - roc.json:
          x: fpr
          y: tpr
plots:
  - missing.csv
`,
      'cm.csv': 'actual,predicted\n1,1\n1,1\n1,0\n0,0\n',
      'roc.json': '{"roc": [{"fpr": 0, "tpr": 0}, {"fpr": 0.5, "tpr": 0.9}, {"fpr": 1, "tpr": 1}]}',
    });
    const r = showPlots(loadProject(root));
    expect(r.plots).toEqual([
      { file: 'cm.csv', kind: 'confusion', rows: 4 },
      { file: 'roc.json', kind: 'linear', rows: 3 },
    ]);
    expect(r.missing).toEqual(['missing.csv']);
    const html = readFileSync(r.path, 'utf8');
    expect(html.match(/<svg /g)).toHaveLength(2);
    expect(html).not.toContain('<script');
    // The (1,1) cell holds 2 and is the darkest.
    expect(html).toContain('fill="rgb(55,55,255)"');
    expect(html).toMatch(/<polyline fill="none" stroke="#1f77b4" stroke-width="2" points="[\d., ]+"/);
  });

  it('picks charts from column names when dvc.yaml gives no template', () => {
    const rows = parsePlotRows('step\tloss\tacc\n1\t0.9\t0.5\n2\t0.5\t0.7\n', 'log.tsv');
    expect(chartFor('log.tsv', rows, {})).toEqual({
      kind: 'linear',
      x: 'step',
      y: ['loss', 'acc'],
      title: 'log.tsv',
    });
    expect(chartFor('r.csv', [{ fpr: 0, tpr: 0, threshold: 1 }], {}).y).toEqual(['tpr']);
    expect(() => parsePlotRows('{"a": 1}', 'x.json')).toThrow('Plots file x.json holds no list of records');
  });
});
