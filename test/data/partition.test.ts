import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fileDigest, writePartition } from '../../src/data/partition.js';
import { queryRows, withDuckDB } from '../../src/data/sql.js';
import { tempDir } from '../helpers/data.js';

describe('writePartition', () => {
  it('writes part-<ms>-<id>.parquet whole and nothing else; the digest is the sha256 of its bytes', async () => {
    const dir = join(tempDir(), 'ds');
    const path = await withDuckDB((conn) =>
      writePartition(conn, dir, 'SELECT range AS x FROM range(1000)', 42),
    );
    expect(readdirSync(dir)).toEqual([path.split('/').pop()]);
    expect(path).toMatch(/part-42-[0-9a-f]{8}\.parquet$/);
    const [row] = await withDuckDB((conn) =>
      queryRows(conn, `SELECT count(*) AS n, sum(x) AS s FROM '${path}'`),
    );
    expect(row).toEqual({ n: 1000, s: 499_500 });
    const expected = createHash('sha256').update(readFileSync(path)).digest('hex');
    expect(await fileDigest(path)).toBe(`sha256:${expected}`);
  });

  it('leaves the folder empty when the query fails while writing', async () => {
    const dir = join(tempDir(), 'ds');
    const failing =
      "SELECT CASE WHEN range < 200000 THEN range ELSE error('boom') END AS x FROM range(300000)";
    const err = await withDuckDB((conn) => writePartition(conn, dir, failing, 1)).catch((e) => e);
    expect((err as Error).message).toContain('boom');
    expect(readdirSync(dir)).toEqual([]);
  });
});
