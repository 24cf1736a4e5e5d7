/**
 * `models:/` URIs and the names inside them.
 */
import { describe, expect, it } from 'vitest';
import { parseModelUri, parseStage, parseVersion, validateAlias } from '../../src/registry/index.js';

describe('model URIs and names', () => {
  it('parses the version, alias and stage forms', () => {
    expect(parseModelUri('models:/churn/3')).toEqual({ name: 'churn', kind: 'version', version: 3 });
    expect(parseModelUri('models:/churn@champion')).toEqual({
      name: 'churn',
      kind: 'alias',
      alias: 'champion',
    });
    expect(parseModelUri('models:/churn/production')).toEqual({
      name: 'churn',
      kind: 'stage',
      stage: 'Production',
    });
    expect(parseModelUri('models:/my%20model/1').name).toBe('my model');
  });

  it('refuses malformed URIs, reserved aliases and unknown stages', () => {
    for (const bad of [
      'models:/churn',
      'models://3',
      'runs:/abc/model',
      'models:/churn/3/extra',
      'models:/churn@latest',
      'models:/churn/Live',
    ]) {
      expect(() => parseModelUri(bad), bad).toThrow(
        expect.objectContaining({ code: 'INVALID_PARAMETER_VALUE' }),
      );
    }
    expect(() => validateAlias('v1')).toThrow(/reserved/);
    expect(() => validateAlias('Latest')).toThrow(/reserved/);
    expect(validateAlias('v1-candidate')).toBe('v1-candidate');
    expect(() => parseVersion('0')).toThrow(/positive integer/);
    expect(parseVersion('12')).toBe(12);
    expect(parseStage('ARCHIVED')).toBe('Archived');
  });
});
