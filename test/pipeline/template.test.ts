// biome-ignore-all lint/suspicious/noTemplateCurlyInString: dvc.yaml templating is written ${...}, the text under test.
import { describe, expect, it } from 'vitest';
import { TemplateContext } from '../../src/pipeline/template.js';

const ctx = TemplateContext.empty()
  .withVars({ train: { lr: 0.5, layers: [4, 8], on: true } }, 'params.yaml', 'dvc.yaml')
  .withVars({ name: 'm' }, undefined, 'dvc.yaml');

describe('TemplateContext', () => {
  it('keeps the type of a whole ${x} and writes values inside text', () => {
    const c = ctx.fork();
    expect(c.resolve('${train.layers}', 'w')).toEqual([4, 8]);
    expect(c.resolve({ cmd: ['fit ${name} ${train.lr} ${train.on}', '${ train.layers[0] }'] }, 'w')).toEqual({
      cmd: ['fit m 0.5 true', 4],
    });
  });

  it('records params-file keys it read, not inline vars', () => {
    const c = ctx.fork();
    c.resolve('${name} ${train.lr} ${train.layers.1}', 'w');
    expect([...c.tracked]).toEqual([['params.yaml', new Set(['train.lr', 'train.layers.1'])]]);
    expect(ctx.fork().tracked.size).toBe(0);
  });

  it('leaves \\${...} as literal text and refuses a list inside text', () => {
    expect(ctx.fork().resolve('echo \\${HOME}', 'w')).toBe('echo ${HOME}');
    expect(() => ctx.fork().resolve('x ${train.layers}', "dvc.yaml: stage 's'")).toThrow(
      "dvc.yaml: stage 's': cannot interpolate '${train.layers}' inside text: it is a list",
    );
  });
});
