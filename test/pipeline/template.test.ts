// biome-ignore-all lint/suspicious/noTemplateCurlyInString: dvc.yaml templating is written ${...}, the text under test.
import { describe, expect, it } from 'vitest';
import { PyDict, PyFloat } from '../../src/pipeline/pyvalue.js';
import { TemplateContext } from '../../src/pipeline/template.js';

const ctx = TemplateContext.empty()
  .withVars(
    PyDict.of({
      train: PyDict.of({
        lr: new PyFloat(0.5),
        one: new PyFloat(1),
        layers: [4, 8],
        on: true,
        opt: PyDict.of({ k: 'adam', m: [1, 2] }),
      }),
    }),
    'params.yaml',
    'dvc.yaml',
  )
  .withVars(PyDict.of({ name: 'm', nothing: null }), undefined, 'dvc.yaml');

describe('TemplateContext', () => {
  it("keeps the type of a whole ${x} and writes values inside text as Python's str", () => {
    const c = ctx.fork();
    expect(c.resolve('${train.layers}', 'w', 'foreach')).toEqual([4, 8]);
    expect(
      c.resolve(
        ['fit ${name} ${train.lr} ${train.one} ${train.on} ${nothing}', '${ train.layers[0] }'],
        'w',
        'cmd',
      ),
    ).toEqual(['fit m 0.5 1.0 true None', 4]);
  });

  it('writes a mapping in cmd as --key value flags, and refuses lists and mappings elsewhere', () => {
    expect(ctx.fork().resolve('run ${train.opt}', 'w', 'cmd')).toBe('run --k adam --m 1 2');
    expect(() => ctx.fork().resolve('x ${train.layers}', "dvc.yaml: stage 's'", 'cmd')).toThrow(
      "dvc.yaml: stage 's': Cannot interpolate data of type 'list'",
    );
    expect(() => ctx.fork().resolve('${train.opt}', 'w', 'deps')).toThrow(
      "Cannot interpolate data of type 'dict'",
    );
  });

  it('records values read from files, not inline vars', () => {
    const c = ctx.fork();
    c.resolve('${name} ${train.lr} ${train.layers.1}', 'w', 'cmd');
    expect([...c.tracked]).toEqual([
      [
        'params.yaml',
        new Map<string, unknown>([
          ['train.lr', new PyFloat(0.5)],
          ['train.layers.1', 8],
        ]),
      ],
    ]);
    expect(ctx.fork().tracked.size).toBe(0);
  });

  it('leaves \\${...} as literal text and interpolates mapping keys', () => {
    expect(ctx.fork().resolve('echo \\${HOME}', 'w', 'cmd')).toBe('echo ${HOME}');
    expect(
      ctx.fork().resolve(PyDict.of({ '${name}/a.txt': PyDict.of({ cache: false }) }), 'w', 'outs'),
    ).toEqual(PyDict.of({ 'm/a.txt': PyDict.of({ cache: false }) }));
  });
});
