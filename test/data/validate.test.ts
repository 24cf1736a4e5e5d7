import { describe, expect, it } from 'vitest';
import { isKeelError } from '../../src/core/index.js';
import { validate } from '../../src/data/index.js';
import { queryRows, withDuckDB } from '../../src/data/sql.js';
import { ORDER_COLUMNS, ORDERS_CSV, tempDir, writeText } from '../helpers/data.js';

describe('validate', () => {
  it('checks files without writing anything', async () => {
    const dir = tempDir();
    const path = writeText(dir, 'orders.csv', ORDERS_CSV.replace('9.99', 'lots'));
    const result = await validate({
      paths: [path],
      columns: ORDER_COLUMNS,
      earlierRows: [40],
      rules: { volume: { maxChangeShare: 0.5 } },
    });
    expect(result.passed).toBe(false);
    expect(result.rows).toBe(4);
    expect(result.checks.filter((c) => !c.passed).map((c) => [c.check, c.column])).toEqual([
      ['type', 'price'],
      ['volume_change', undefined],
    ]);
  });

  it('checks a relation on the caller’s connection and drops its staging table afterwards', async () => {
    await withDuckDB(async (conn) => {
      await conn.run('CREATE TABLE orders AS SELECT range AS id, range % 3 AS qty FROM range(10)');
      const columns = [
        { name: 'id', type: 'int64' as const },
        { name: 'qty', type: 'int64' as const, max: 1 },
      ];
      const all = await validate({ connection: conn, relation: 'orders', columns });
      expect(all.checks.find((c) => c.check === 'range')).toMatchObject({ passed: false, count: 3 });
      const some = await validate({
        connection: conn,
        relation: '(SELECT * FROM orders WHERE qty < 2)',
        columns,
      });
      expect(some.passed).toBe(true);
      expect(some.rows).toBe(7);
      expect(await queryRows(conn, 'SELECT table_name FROM duckdb_tables() ORDER BY 1')).toEqual([
        { table_name: 'orders' },
      ]);
    });
  });

  it('wants either paths or a relation', async () => {
    const err = await validate({ columns: ORDER_COLUMNS }).catch((e) => e);
    expect(isKeelError(err, 'INVALID_PARAMETER_VALUE')).toBe(true);
  });
});
