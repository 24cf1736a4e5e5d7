import { describe, expect, it } from 'vitest';
import { checkColumns } from '../../src/data/column-checks.js';
import type { ColumnSpec } from '../../src/data/index.js';
import { withDuckDB } from '../../src/data/sql.js';
import { fileSources, stageSources } from '../../src/data/stage.js';
import { tempDir, writeText } from '../helpers/data.js';

const CSV = ['qty,country,at', '5,UK,2024-01-01 10:00:00', '-2,FR,2024-01-02', ',XX,nope', '500,UK,'].join(
  '\n',
);

async function run(columns: ColumnSpec[], rules = {}) {
  const path = writeText(tempDir(), 'c.csv', CSV);
  return withDuckDB(async (conn) => {
    const staged = await stageSources(conn, 't', fileSources([path]), columns);
    return checkColumns(conn, 't', columns, rules, staged.sources);
  });
}

describe('checkColumns', () => {
  it('reports range, allowed values and nulls with counts and example rows', async () => {
    const { rows, checks } = await run([
      { name: 'qty', type: 'int64', nullable: false, min: 0, max: 100 },
      { name: 'country', type: 'string', allowed: ['UK', 'FR'] },
    ]);
    expect(rows).toBe(4);
    const by = (check: string) => checks.find((c) => c.check === check)!;
    expect(by('range')).toMatchObject({ passed: false, count: 2, threshold: '0..100' });
    expect(by('range').examples!.map((e) => [e.row, e.value])).toEqual([
      [2, '-2'],
      [4, '500'],
    ]);
    expect(by('not_null')).toMatchObject({ passed: false, count: 1 });
    expect(by('not_null').message).toContain(
      "column 'qty' (not nullable): 1 of 4 rows (25.0%) have no value, e.g. row 3",
    );
    expect(by('allowed')).toMatchObject({ passed: false, count: 1, threshold: 'UK|FR' });
    expect(by('allowed').message).toMatch(
      /1 of 4 values \(25\.0%\) are not one of UK, FR, e\.g\. row 3 of \S+c\.csv \("XX"\)$/,
    );
    // A string column cannot fail its type, so it gets no type check.
    expect(checks.filter((c) => c.column === 'country').map((c) => c.check)).toEqual(['missing', 'allowed']);
  });

  it('uses the column limit on missing values over the batch rule, and counts type failures apart', async () => {
    const { checks } = await run([{ name: 'at', type: 'timestamp', maxMissingShare: 0.5 }], {
      maxMissingShare: 0.1,
    });
    expect(checks.find((c) => c.check === 'missing')).toMatchObject({
      passed: true,
      observed: 0.25,
      threshold: 0.5,
    });
    const type = checks.find((c) => c.check === 'type')!;
    // '2024-01-02' is a valid timestamp (midnight); 'nope' is not.
    expect(type).toMatchObject({ passed: false, count: 1 });
    expect(type.examples).toMatchObject([{ row: 3, value: 'nope' }]);
  });
});
