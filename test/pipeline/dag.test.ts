import { describe, expect, it } from 'vitest';
import { buildDag, renderDagMermaid, renderDagText, selectStages } from '../../src/pipeline/dag.js';
import { loadProject } from '../../src/pipeline/dvcfile.js';
import { makeProject } from './helpers.js';

const project = (yaml: string) => loadProject(makeProject({ 'dvc.yaml': yaml }));

const diamond = `
stages:
  report:
    cmd: r
    deps: [model, features/x.csv]
    outs: [report.html]
  train:
    cmd: t
    deps: [features]
    outs: [model]
  featurize:
    cmd: f
    deps: [raw]
    outs: [features]
  lint:
    cmd: l
`;

describe('buildDag', () => {
  it('orders stages topologically, definition order breaking ties, and links deps inside outs', () => {
    const p = project(diamond);
    const dag = buildDag(p);
    expect(dag.order.map((s) => s.name)).toEqual(['featurize', 'train', 'report', 'lint']);
    expect(dag.upstream.get('report')).toEqual(['train', 'featurize']);
    expect(renderDagText(dag)).toBe('featurize\ntrain <- featurize\nreport <- train, featurize\nlint');
  });

  it('prints the Mermaid flowchart DVC prints', () => {
    const dag = buildDag(project(diamond));
    expect(renderDagMermaid(dag)).toBe(
      'flowchart TD\n\tnode1["featurize"]\n\tnode2["train"]\n\tnode3["report"]\n\tnode4["lint"]\n\tnode1-->node2\n\tnode1-->node3\n\tnode2-->node3',
    );
  });

  it('refuses a cycle, naming its stages', () => {
    const p = project(
      'stages:\n  a:\n    cmd: x\n    deps: [b.out]\n    outs: [a.out]\n  b:\n    cmd: y\n    deps: [a.out]\n    outs: [b.out]\n',
    );
    expect(() => buildDag(p)).toThrow("dvc.yaml: stage 'a': the stages form a cycle: a -> b -> a");
  });

  it('selects targets with their upstream, and foreach groups by name', () => {
    const p = project(`${diamond}  many:\n    foreach: [1, 2]\n    do:\n      cmd: echo \${item}\n`);
    const dag = buildDag(p);
    expect(selectStages(p, dag, ['train']).map((s) => s.name)).toEqual(['featurize', 'train']);
    expect(selectStages(p, dag, ['many']).map((s) => s.name)).toEqual(['many@1', 'many@2']);
    expect(() => selectStages(p, dag, ['nope'])).toThrow("dvc.yaml: no stage named 'nope'");
  });
});
