import { createHash } from 'node:crypto';
import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isKeelError } from '../../src/core/index.js';
import { datasetDigest, datasetGlob, datasetHistory, ingest } from '../../src/data/index.js';
import { ORDER_COLUMNS, ORDERS_CSV, tempDir, writeText } from '../helpers/data.js';

describe('datasets', () => {
  it('lives under <home>/offline/<name> and refuses names that are not plain', () => {
    expect(datasetGlob('/h', 'orders_v2.daily')).toBe('/h/offline/orders_v2.daily/*.parquet');
    for (const bad of ['', '../x', 'a/b', '.hidden']) {
      let caught: unknown;
      try {
        datasetGlob('/h', bad);
      } catch (err) {
        caught = err;
      }
      expect(isKeelError(caught, 'INVALID_PARAMETER_VALUE')).toBe(true);
    }
  });

  it('records each accepted ingest and digests what DuckDB would read', async () => {
    const home = tempDir();
    const empty = await datasetDigest(home, 'orders');
    expect(empty).toBe(`sha256:${createHash('sha256').digest('hex')}`);
    expect(datasetHistory(home, 'orders')).toEqual([]);

    const path = writeText(home, 'orders.csv', ORDERS_CSV);
    const first = await ingest({ home, dataset: 'orders', paths: [path], columns: ORDER_COLUMNS });
    const afterFirst = await datasetDigest(home, 'orders');
    expect(afterFirst).not.toBe(empty);
    expect(await datasetDigest(home, 'orders')).toBe(afterFirst);

    const second = await ingest({
      home,
      dataset: 'orders',
      paths: [path],
      columns: ORDER_COLUMNS,
      force: true,
    });
    expect(datasetHistory(home, 'orders').map((e) => [e.rows, e.partition, e.digest])).toEqual([
      [4, first.partition, first.digest],
      [4, second.partition, second.digest],
    ]);
    const afterSecond = await datasetDigest(home, 'orders');
    expect(afterSecond).not.toBe(afterFirst);

    // A partition the history does not know (copied in by hand) still changes the digest.
    copyFileSync(first.partition!, join(home, 'offline', 'orders', 'part-9-manual.parquet'));
    expect(await datasetDigest(home, 'orders')).not.toBe(afterSecond);
  });
});
