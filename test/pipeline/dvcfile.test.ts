// biome-ignore-all lint/suspicious/noTemplateCurlyInString: dvc.yaml templating is written ${...}, the text under test.
import { describe, expect, it } from 'vitest';
import { loadProject } from '../../src/pipeline/dvcfile.js';
import { PyDict, PyFloat } from '../../src/pipeline/pyvalue.js';
import { makeProject } from './helpers.js';

const load = (dvcYaml: string, extra: Record<string, string> = {}) =>
  loadProject(makeProject({ 'dvc.yaml': dvcYaml, ...extra }));

describe('loadProject', () => {
  it('reads every stage field, with outs, metrics and plots flags', () => {
    const p = load(`
stages:
  train:
    cmd: [python a.py, python b.py]
    wdir: src
    deps: [../data]
    outs:
      - model.pkl
      - ckpt:
          persist: true
          cache: false
          desc: checkpoints
          type: model
          labels: [a]
    metrics:
      - m.json:
          cache: false
    plots:
      - roc.csv:
          x: fpr
          y: tpr
    params:
      - lr
      - other.yaml: [a.b]
      - whole.json:
    frozen: true
    always_changed: true
    desc: trains
    meta: { owner: me }
metrics: [top.json]
plots: [top.csv]
`);
    const s = p.stages[0];
    expect(s).toMatchObject({
      name: 'train',
      cmd: ['python a.py', 'python b.py'],
      wdir: 'src',
      deps: ['../data'],
    });
    expect(s.outs).toEqual([
      { path: 'model.pkl', kind: 'outs', cache: true, persist: false },
      {
        path: 'ckpt',
        kind: 'outs',
        cache: false,
        persist: true,
        desc: 'checkpoints',
        type: 'model',
        labels: ['a'],
      },
      { path: 'm.json', kind: 'metrics', cache: false, persist: false },
      { path: 'roc.csv', kind: 'plots', cache: true, persist: false, plot: { x: 'fpr', y: 'tpr' } },
    ]);
    expect(s.params).toEqual([
      { file: 'params.yaml', keys: ['lr'] },
      { file: 'other.yaml', keys: ['a.b'] },
      { file: 'whole.json', keys: [] },
    ]);
    expect(s).toMatchObject({ frozen: true, alwaysChanged: true, desc: 'trains' });
    expect(s.meta).toEqual(PyDict.of({ owner: 'me' }));
    expect(p.metrics).toEqual(['top.json']);
    expect(p.plots).toEqual([{ path: 'top.csv', props: {} }]);
  });

  it('fills ${...} from params.yaml and vars (typed when whole, text inside strings), in keys too, without making them params', () => {
    const p = load(
      `
vars:
  - out_dir: build
  - extra.yaml:threshold
stages:
  train:
    cmd: python train.py --lr \${train.lr} --layers \${train.layers[1]} --t \${threshold} \\\${literal}
    outs:
      - \${out_dir}/model:
          desc: the model
    frozen: \${train.frozen}
`,
      {
        'params.yaml': 'train:\n  lr: 0.01\n  layers: [8, 16]\n  frozen: false\n',
        'extra.yaml': 'threshold: 0.5\nunused: 1\n',
      },
    );
    const s = p.stages[0];
    expect(s.cmd).toBe('python train.py --lr 0.01 --layers 16 --t 0.5 ${literal}');
    expect(s.outs[0].path).toBe('build/model');
    expect(s.frozen).toBe(false);
    expect(s.params).toEqual([]);
    expect(s.trackedVars.get('extra.yaml')).toEqual(new Map([['threshold', new PyFloat(0.5)]]));
  });

  it('expands foreach over a list, a list of mappings and a mapping, naming stages as DVC does', () => {
    const p = load(`
stages:
  simple:
    foreach: [us, uk]
    do:
      cmd: echo \${item}
      outs:
        - out-\${item}
  records:
    foreach:
      - { n: 1 }
      - { n: 2 }
    do:
      cmd: echo \${item.n}
  keyed:
    foreach:
      small: { epochs: 3 }
      big: { epochs: 10 }
    do:
      cmd: train \${key} \${item.epochs}
`);
    expect(p.stages.map((s) => [s.name, s.cmd])).toEqual([
      ['simple@us', 'echo us'],
      ['simple@uk', 'echo uk'],
      ['records@0', 'echo 1'],
      ['records@1', 'echo 2'],
      ['keyed@small', 'train small 3'],
      ['keyed@big', 'train big 10'],
    ]);
  });

  it('expands matrix into the product, joining plain values and <name><index> for others', () => {
    const p = load(`
stages:
  fit:
    matrix:
      model: [lr, gbt]
      cfg: [{ depth: 2 }, { depth: 4 }]
    cmd: fit \${item.model} \${item.cfg.depth}
`);
    expect(p.stages.map((s) => [s.name, s.cmd])).toEqual([
      ['fit@lr-cfg0', 'fit lr 2'],
      ['fit@lr-cfg1', 'fit lr 4'],
      ['fit@gbt-cfg0', 'fit gbt 2'],
      ['fit@gbt-cfg1', 'fit gbt 4'],
    ]);
  });

  it('refuses unknown keys with the file, the stage and the key', () => {
    expect(() => load('stages:\n  train:\n    cmd: x\n    outz: [a]\n')).toThrow(
      /dvc\.yaml stage 'train'.*Unrecognized key.*outz/,
    );
    expect(() => load('stagez: {}\n')).toThrow(/dvc\.yaml.*stagez/);
  });

  it('refuses two stages writing one output, and an output inside another', () => {
    expect(() => load('stages:\n  a:\n    cmd: x\n    outs: [o]\n  b:\n    cmd: y\n    outs: [o]\n')).toThrow(
      "dvc.yaml: stage 'b': output 'o' overlaps 'o', written also by stage 'a'",
    );
    expect(() =>
      load('stages:\n  a:\n    cmd: x\n    outs: [d]\n  b:\n    cmd: y\n    outs: [d/f]\n'),
    ).toThrow(/stage 'b': output 'd\/f' overlaps 'd'/);
  });

  it('refuses an output that is also a dependency of its own stage', () => {
    expect(() => load('stages:\n  a:\n    cmd: x\n    deps: [f]\n    outs: [f]\n')).toThrow(
      "dvc.yaml: stage 'a': 'f' is both an output and a dependency of the stage",
    );
  });

  it('refuses undefined template names and redefined vars', () => {
    expect(() => load('stages:\n  a:\n    cmd: echo ${nope.x}\n')).toThrow(
      "dvc.yaml: stage 'a'.cmd: Could not find 'nope.x'",
    );
    expect(() => load('vars:\n  - lr: 1\nstages: {}\n', { 'params.yaml': 'lr: 2\n' })).toThrow(
      /cannot redefine 'lr' as it already exists in 'params\.yaml'/,
    );
    // Nested mappings merge key by key.
    const merged = load('vars:\n  - t: {b: 2}\nstages:\n  a:\n    cmd: echo ${t.a} ${t.b}\n', {
      'params.yaml': 't: {a: 1}\n',
    });
    expect(merged.stages[0].cmd).toBe('echo 1 2');
  });

  it('refuses a stage without cmd and a missing dvc.yaml', () => {
    expect(() => load('stages:\n  a:\n    deps: [x]\n')).toThrow(/stage 'a'.*cmd/);
    expect(() => loadProject(makeProject({}))).toThrow(/dvc\.yaml does not exist/);
  });
});
