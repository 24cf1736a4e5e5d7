import { describe, expect, it } from 'vitest';
import { type ColumnSpec, typedSql } from '../../src/data/index.js';
import { queryRows, withDuckDB } from '../../src/data/sql.js';

async function cast(column: Omit<ColumnSpec, 'name'>, values: Array<string | null>): Promise<unknown[]> {
  return withDuckDB(async (conn) => {
    await conn.run('CREATE TABLE t (i INTEGER, v VARCHAR)');
    for (const [i, v] of values.entries()) {
      await conn.run(`INSERT INTO t VALUES (${i}, ${v === null ? 'NULL' : `'${v}'`})`);
    }
    const rows = await queryRows(conn, `SELECT ${typedSql({ name: 'v', ...column })} AS x FROM t ORDER BY i`);
    return rows.map((r) => r.x);
  });
}

describe('typedSql', () => {
  it('takes whole numbers only for int64, where a bare DuckDB cast would round', async () => {
    expect(await cast({ type: 'int64' }, ['12', ' -7 ', '+3', '1.5', '17850.0', 'x', null])).toEqual([
      12,
      -7,
      3,
      null,
      null,
      null,
      null,
    ]);
  });

  it('parses float64, bool and ISO dates, and NULLs what does not parse', async () => {
    expect(await cast({ type: 'float64' }, ['17850.0', '1e3', 'abc'])).toEqual([17850, 1000, null]);
    expect(await cast({ type: 'bool' }, ['true', 'false', 'maybe'])).toEqual([true, false, null]);
    const dates = await cast({ type: 'date' }, ['2024-02-29', '2023-02-29']);
    expect(dates[1]).toBeNull();
    expect((dates[0] as Date).toISOString()).toBe('2024-02-29T00:00:00.000Z');
  });

  it('stores timestamps in UTC, converting those with an offset', async () => {
    const ts = await cast({ type: 'timestamp' }, [
      '2024-01-01T10:00:00+02:00',
      '2024-01-01T10:00:00Z',
      '2024-01-01 10:00:00',
      '2024-01-01T10:00:00.123',
      'soon',
    ]);
    expect(ts.map((t) => (t === null ? null : (t as Date).toISOString()))).toEqual([
      '2024-01-01T08:00:00.000Z',
      '2024-01-01T10:00:00.000Z',
      '2024-01-01T10:00:00.000Z',
      '2024-01-01T10:00:00.123Z',
      null,
    ]);
    const zoned = await cast({ type: 'timestamp', format: '%d/%m/%Y %H:%M %z' }, ['09/12/2011 12:50 -0100']);
    expect((zoned[0] as Date).toISOString()).toBe('2011-12-09T13:50:00.000Z');
  });

  it('parses timestamps with an explicit strptime format', async () => {
    const ts = await cast({ type: 'timestamp', format: '%d/%m/%Y %H:%M' }, [
      '09/12/2011 12:50',
      '2011-12-09 12:50',
    ]);
    expect((ts[0] as Date).toISOString()).toBe('2011-12-09T12:50:00.000Z');
    expect(ts[1]).toBeNull();
  });
});
