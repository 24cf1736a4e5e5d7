import { describe, expect, it } from 'vitest';
import { expandForeach, expandMatrix } from '../../src/pipeline/expand.js';
import { TemplateContext } from '../../src/pipeline/template.js';

const ctx = TemplateContext.empty().withVars(
  { models: ['a', 'b'], flags: [true, false] },
  'params.yaml',
  'dvc.yaml',
);

describe('expansion', () => {
  it('resolves a templated foreach and matrix from params, naming booleans as DVC does', () => {
    // biome-ignore lint/suspicious/noTemplateCurlyInString: dvc.yaml templating.
    expect(expandForeach('s', '${models}', {}, ctx, 'w').map((e) => e.name)).toEqual(['s@a', 's@b']);
    // biome-ignore lint/suspicious/noTemplateCurlyInString: dvc.yaml templating.
    expect(expandMatrix('m', { f: '${flags}', n: [1] }, {}, ctx, 'w').map((e) => e.name)).toEqual([
      'm@true-1',
      'm@false-1',
    ]);
  });

  it('refuses a foreach over a scalar and an empty matrix variable', () => {
    expect(() => expandForeach('s', 3, {}, ctx, "dvc.yaml: stage 's'")).toThrow(
      "dvc.yaml: stage 's': foreach must be a list or a mapping",
    );
    expect(() => expandMatrix('m', { x: [] }, {}, ctx, "dvc.yaml: stage 'm'")).toThrow(
      "dvc.yaml: stage 'm': matrix variable 'x' must be a non-empty list",
    );
  });
});
