import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isKeelError } from '../../src/core/index.js';
import { loadSchemaFile, parseSchemaText } from '../../src/data/index.js';
import { tempDir, writeText } from '../helpers/data.js';

function message(work: () => unknown): string {
  try {
    work();
  } catch (err) {
    expect(isKeelError(err)).toBe(true);
    return (err as Error).message;
  }
  throw new Error('expected an error');
}

describe('schema files', () => {
  it('loads columns, rules, renames and format', () => {
    const path = writeText(
      tempDir(),
      'schema.yaml',
      `columns:
  - { name: id, type: int64, nullable: false }
  - { name: at, type: timestamp, format: '%d/%m/%Y' }
rules: { maxMissingShare: 0.1, uniqueKey: [id], volume: { maxChangeShare: 0.5 } }
rename: { ID: id }
nullValues: ['?']
format: csv
`,
    );
    expect(loadSchemaFile(path)).toEqual({
      columns: [
        { name: 'id', type: 'int64', nullable: false },
        { name: 'at', type: 'timestamp', format: '%d/%m/%Y' },
      ],
      rules: { maxMissingShare: 0.1, uniqueKey: ['id'], volume: { maxChangeShare: 0.5 } },
      rename: { ID: 'id' },
      nullValues: ['?'],
      format: 'csv',
    });
  });

  it('names the field of every mistake', () => {
    const parse = (yaml: string) => message(() => parseSchemaText(yaml, 's.yaml'));
    expect(parse('columns: [{ name: a, type: decimal }]')).toBe(
      'Invalid schema s.yaml: columns.0.type: unknown type "decimal": use one of int64, float64, string, bool, timestamp, date',
    );
    expect(parse('columns: [{ name: a, type: string, min: 1 }]')).toContain(
      'columns.0: min/max apply to int64 and float64 columns, not string',
    );
    expect(parse('columns: [{ name: ID, type: int64 }, { name: id, type: int64 }]')).toContain(
      "columns: column 'id' is declared twice (ignoring case)",
    );
    expect(parse('columns: [{ name: __file, type: int64 }]')).toContain(
      "columns: column '__file': names starting with __ are reserved",
    );
    expect(parse('columns: [{ name: a, type: int64 }]\nrules: { uniqueKey: [b] }')).toContain(
      "rules.uniqueKey: 'b' is not a declared column",
    );
    expect(parse('columns: [{ name: a, type: int64 }]\nrules: { maxMissingShare: 5 }')).toContain(
      'rules.maxMissingShare:',
    );
    expect(parse('columns: [{ name: a, type: int64, colour: red }]')).toContain(
      "columns.0: unknown key 'colour': valid keys are name, type, nullable, min, max, allowed, format, maxMissingShare",
    );
    expect(parse('columns: [ {')).toContain('s.yaml is not valid YAML');
  });

  it('reports a schema file that does not exist', () => {
    const path = join(tempDir(), 'none.yaml');
    expect(message(() => loadSchemaFile(path))).toContain(`Schema file '${path}' cannot be read`);
  });
});
