import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as vega from 'vega';
import { compile } from 'vega-lite';
import { describe, expect, it } from 'vitest';
import { loadProject } from '../../src/pipeline/dvcfile.js';
import { chartFor, parsePlotRows } from '../../src/pipeline/plot-data.js';
import { showPlots } from '../../src/pipeline/plots.js';
import { makeProject } from './helpers.js';

describe('plots', () => {
  it('writes one offline page of Vega-Lite charts that vega renders: a confusion matrix and a ROC curve', async () => {
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
          title: ROC
plots:
  - missing.csv
`,
      'cm.csv': 'actual,predicted\n1,1\n1,1\n1,0\n0,0\n',
      'roc.json': '{"roc": [{"fpr": 0, "tpr": 0}, {"fpr": 0.5, "tpr": 0.9}, {"fpr": 1, "tpr": 1}]}',
    });
    const r = showPlots(loadProject(root));
    expect(r.path).toBe(join(root, 'dvc_plots', 'index.html'));
    expect(r.plots).toEqual([
      { file: 'cm.csv', template: 'confusion', rows: 4 },
      { file: 'roc.json', template: 'linear', rows: 3 },
    ]);
    expect(r.missing).toEqual(['missing.csv']);
    const html = readFileSync(r.path, 'utf8');
    // Nothing is fetched: the libraries are in the page.
    expect(html).not.toMatch(/<script[^>]+src=/);
    expect(html.match(/<script type="text\/javascript">/g)?.length).toBe(5);
    const specs = [...html.matchAll(/var spec = (.*);\nvegaEmbed/g)].map((m) => JSON.parse(m[1]));
    expect(specs).toHaveLength(2);
    const svgs: string[] = [];
    for (const spec of specs) {
      const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
      svgs.push(await view.toSVG());
    }
    // The (1,1) cell counts 2 rows; the ROC chart is titled as dvc.yaml says.
    expect(svgs[0]).toContain('>2<');
    expect(svgs[1]).toContain('>ROC<');
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
