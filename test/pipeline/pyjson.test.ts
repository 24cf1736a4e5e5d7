import { describe, expect, it } from 'vitest';
import { pyJsonDumps } from '../../src/pipeline/pyjson.js';

describe('pyJsonDumps', () => {
  it("writes Python's json.dumps(sort_keys=True) text: separators, key order, escapes, float forms", () => {
    // Expected text produced once by CPython 3: json.dumps(value, sort_keys=True).
    const value = { b: [1.5, 1e-7, 0.0001, 'é', true, null], a: { z: 1, y: 'x"y' }, c: 2.5e-20 };
    expect(pyJsonDumps(value)).toBe(
      '{"a": {"y": "x\\"y", "z": 1}, "b": [1.5, 1e-07, 0.0001, "\\u00e9", true, null], "c": 2.5e-20}',
    );
  });

  it('refuses values JSON cannot hold', () => {
    expect(() => pyJsonDumps({ f: () => 1 })).toThrow(/Cannot serialise a function/);
  });
});
