import { describe, expect, it } from 'vitest';
import { joinArtifactPath, normalizeArtifactPath } from '../../src/artifacts/index.js';

describe('artifact paths', () => {
  it('normalizes relative paths', () => {
    expect(normalizeArtifactPath('a//b/./c/')).toBe('a/b/c');
    expect(normalizeArtifactPath('')).toBe('');
    expect(joinArtifactPath('1/run/artifacts', '', 'model.onnx')).toBe('1/run/artifacts/model.onnx');
  });

  it.each(['../x', 'a/../../x', '/etc/passwd', 'C:/x', 'a\\..\\b', 'a\0b'])('refuses %j', (path) => {
    expect(() => normalizeArtifactPath(path)).toThrow(
      expect.objectContaining({ code: 'INVALID_PARAMETER_VALUE' }),
    );
  });
});
