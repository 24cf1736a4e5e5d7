// biome-ignore-all lint/suspicious/noTemplateCurlyInString: dvc.yaml templating is written ${...}.
import { describe, expect, it } from 'vitest';
import { expandForeach, expandMatrix } from '../../src/pipeline/expand.js';
import { PyDict, PyFloat } from '../../src/pipeline/pyvalue.js';
import { TemplateContext } from '../../src/pipeline/template.js';

const ctx = TemplateContext.empty().withVars(
  PyDict.of({ models: ['a', 'b'], flags: [true, false], rates: [new PyFloat(1), new PyFloat(0.5)] }),
  'params.yaml',
  'dvc.yaml',
);
const body = new PyDict();

describe('expansion', () => {
  it('resolves a templated foreach and matrix from params, naming booleans and floats as DVC does', () => {
    expect(expandForeach('s', '${models}', body, ctx, 'w').map((e) => e.name)).toEqual(['s@a', 's@b']);
    expect(expandForeach('r', '${rates}', body, ctx, 'w').map((e) => e.name)).toEqual(['r@1.0', 'r@0.5']);
    expect(
      expandMatrix('m', PyDict.of({ f: '${flags}', n: [1] }), body, ctx, 'w').map((e) => e.name),
    ).toEqual(['m@true-1', 'm@false-1']);
  });

  it('refuses a foreach over a scalar and a matrix variable that is not a list', () => {
    expect(() => expandForeach('s', 3, body, ctx, "dvc.yaml: stage 's'")).toThrow(
      "dvc.yaml: stage 's'.foreach: expected list/dictionary",
    );
    expect(() => expandMatrix('m', PyDict.of({ x: 1 }), body, ctx, "dvc.yaml: stage 'm'")).toThrow(
      "dvc.yaml: stage 'm'.matrix: 'x' must be a list",
    );
  });
});
