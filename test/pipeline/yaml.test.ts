import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PyDate, PyDict, PyFloat, pyJsonDumps } from '../../src/pipeline/pyvalue.js';
import { dumpYamlPy } from '../../src/pipeline/yaml-dump.js';
import { parseJsonPy, parseYamlPy } from '../../src/pipeline/yaml-load.js';

const OWN = join(import.meta.dirname, '..', 'fixtures', 'dvc-golden');
const SHARED = [
  join(import.meta.dirname, '..', '..', '..', 'shared'),
  join(import.meta.dirname, '..', '..', '..', '..', 'shared'),
]
  .map((d) => join(d, 'specs', 'dvc-golden'))
  .find(existsSync);

function recordedLocks(): string[] {
  const locks: string[] = [];
  for (const base of [OWN, ...(SHARED ? [SHARED] : [])]) {
    for (const fixture of readdirSync(base, { withFileTypes: true }).filter((d) => d.isDirectory())) {
      const dir = join(base, fixture.name, 'expected');
      if (!existsSync(dir)) continue;
      for (const f of readdirSync(dir)) if (f.endsWith('.dvc.lock')) locks.push(join(dir, f));
    }
  }
  return locks;
}

describe('YAML as DVC reads and writes it', () => {
  it('reads and writes back every recorded lock byte for byte', () => {
    const locks = recordedLocks();
    expect(locks.length).toBeGreaterThan(20);
    for (const path of locks) {
      const text = readFileSync(path, 'utf8');
      expect(dumpYamlPy(parseYamlPy(text, path)), path).toBe(text);
    }
  });

  it("resolves plain scalars with ruamel's YAML 1.2 rules", () => {
    const v = parseYamlPy(
      'a: 010\nb: 1_000\nc: yes\nd: 1e-05\ne: 2024-01-05\nf: .inf\ng: ~\nh: 0x1F\ni: 1.0\nj: "1.0"\nk: 123456789012345678901\n',
      'p.yaml',
    ) as PyDict;
    expect([...v.values()]).toEqual([
      10,
      1000,
      'yes',
      new PyFloat(1e-5),
      new PyDate('2024-01-05'),
      new PyFloat(Number.POSITIVE_INFINITY),
      null,
      31,
      new PyFloat(1),
      '1.0',
      123456789012345678901n,
    ]);
    expect(dumpYamlPy(v)).toBe(
      "a: 10\nb: 1000\nc: yes\nd: 1e-05\ne: 2024-01-05\nf: .inf\ng:\nh: 31\ni: 1.0\nj: '1.0'\nk: 123456789012345678901\n",
    );
  });

  it('quotes strings a plain scalar would read as something else, and folds long ones as ruamel does', () => {
    const d = PyDict.of({ s: ['010', 'true', '', "it's", 'a: b', '- x', '#c', 'é'] });
    expect(dumpYamlPy(d)).toBe("s:\n- '010'\n- 'true'\n- ''\n- it's\n- 'a: b'\n- '- x'\n- '#c'\n- é\n");
    expect(dumpYamlPy(PyDict.of({ k: `${'word '.repeat(20)}end` }))).toBe(
      `k: ${'word '.repeat(15)}word\n  word word word word end\n`,
    );
  });

  it('reads JSON as Python does: 1.0 is a float, big ints exact; writes it as json.dumps', () => {
    const v = parseJsonPy('{"a": 1.0, "b": 1, "c": 12345678901234567890, "d": [1e-05, "\\u00e9"]}', 'x.json');
    expect(pyJsonDumps(v)).toBe('{"a": 1.0, "b": 1, "c": 12345678901234567890, "d": [1e-05, "\\u00e9"]}');
    expect(() => parseJsonPy('{"a": }', 'x.json')).toThrow(/x\.json is not valid JSON/);
  });
});
