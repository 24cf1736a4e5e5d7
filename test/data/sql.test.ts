import { describe, expect, it } from 'vitest';
import { ident, literal, queryRows, withDuckDB } from '../../src/data/sql.js';

describe('sql helpers', () => {
  it('quotes identifiers and literals so any name and text survive a round trip', async () => {
    const name = 'we"ird name';
    const text = "it's; DROP TABLE x; --";
    const rows = await withDuckDB((conn) =>
      queryRows(conn, `SELECT ${literal(text)} AS ${ident(name)}, 2::BIGINT AS n`),
    );
    expect(rows).toEqual([{ [name]: text, n: 2 }]);
  });

  it('passes the error of a failing query on to the caller', async () => {
    await expect(withDuckDB((conn) => conn.run('SELECT * FROM no_such_table'))).rejects.toThrow(
      'no_such_table',
    );
  });
});
