import { describe, expect, it } from 'vitest';
import {
  buildDag,
  printGraph,
  renderDot,
  renderMermaid,
  renderText,
  selectStages,
} from '../../src/pipeline/dag.js';
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
  it("orders stages as DVC's depth-first post-order, upstream in dep order, and links deps inside outs", () => {
    const p = project(diamond);
    const dag = buildDag(p);
    expect(dag.order.map((s) => s.name)).toEqual(['featurize', 'train', 'report', 'lint']);
    expect(dag.upstream.get('report')).toEqual(['train', 'featurize']);
    const swapped = project(
      'stages:\n  b:\n    cmd: b\n    deps: [a.txt]\n  c:\n    cmd: c\n  a:\n    cmd: a\n    outs: [a.txt]\n',
    );
    // A stage's upstream comes right before it, not after stages defined earlier.
    expect(buildDag(swapped).order.map((s) => s.name)).toEqual(['a', 'b', 'c']);
    expect(renderText(printGraph(p, dag, (_s, o) => o))).toBe(
      'report <- train, featurize\ntrain <- featurize\nfeaturize\n\nlint',
    );
  });

  it('prints the Mermaid and DOT graphs DVC prints, per connected part', () => {
    const p = project(diamond);
    const graph = printGraph(p, buildDag(p), (_s, o) => o);
    expect(renderMermaid(graph)).toBe(
      'flowchart TD\n\tnode1["featurize"]\n\tnode2["report"]\n\tnode3["train"]\n\tnode1-->node2\n\tnode1-->node3\n\tnode3-->node2\n\tnode4["lint"]',
    );
    expect(renderDot(graph)).toContain('"featurize" -> "train";\n');
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
