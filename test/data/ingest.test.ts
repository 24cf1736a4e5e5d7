import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isKeelError, KeelError, ManualClock } from '../../src/core/index.js';
import { datasetGlob, type IngestOptions, type IngestReport, ingest } from '../../src/data/index.js';
import { queryRows, withDuckDB } from '../../src/data/sql.js';
import { ORDER_COLUMNS, ORDERS_CSV, snapshot, tempDir, writeText } from '../helpers/data.js';

async function rejection(options: IngestOptions): Promise<KeelError> {
  try {
    await ingest(options);
  } catch (err) {
    if (err instanceof KeelError) return err;
    throw err;
  }
  throw new Error('ingest was expected to fail');
}

/** Ingests one good batch so the store has something that a later rejection must not change. */
async function seededStore() {
  const home = tempDir();
  const good = writeText(home, 'good.csv', ORDERS_CSV);
  await ingest({ home, dataset: 'orders', paths: [good], columns: ORDER_COLUMNS });
  return { home, before: snapshot(join(home, 'offline')) };
}

describe('ingest', () => {
  it('writes an accepted batch as one typed Parquet partition that datasetGlob reads', async () => {
    const home = tempDir();
    const path = writeText(home, 'orders.csv', ORDERS_CSV);
    const clock = new ManualClock(1_700_000_000_000);
    const events: string[] = [];
    const report = await ingest({
      home,
      dataset: 'orders',
      paths: [path],
      columns: ORDER_COLUMNS,
      clock,
      onProgress: (e) => events.push(e.label),
    });
    expect(report.accepted).toBe(true);
    expect(report.rows).toBe(4);
    expect(report.partition).toMatch(/offline\/orders\/part-1700000000000-[0-9a-f]{8}\.parquet$/);
    expect(report.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(events).toEqual([
      'ingest orders: read',
      'ingest orders: validate',
      'ingest orders: validate',
      'ingest orders: write',
    ]);
    expect(readdirSync(join(home, 'offline', 'orders')).sort()).toEqual([
      '_ingests.json',
      report.partition!.split('/').pop(),
    ]);
    const rows = await withDuckDB(async (conn) => {
      const types = await queryRows(
        conn,
        `DESCRIBE SELECT * FROM read_parquet('${datasetGlob(home, 'orders')}')`,
      );
      expect(types.map((t) => t.column_type)).toEqual([
        'BIGINT',
        'BIGINT',
        'DOUBLE',
        'DATE',
        'VARCHAR',
        'BOOLEAN',
      ]);
      return queryRows(
        conn,
        `SELECT id, price, note FROM read_parquet('${datasetGlob(home, 'orders')}') ORDER BY id`,
      );
    });
    expect(rows).toEqual([
      { id: 1, price: 1.5, note: 'a' },
      { id: 2, price: 2.25, note: 'b' },
      { id: 3, price: 9.99, note: null },
      { id: 4, price: 0.5, note: 'c' },
    ]);
  });

  it('rejects a wrong column type with the column, count and rows, and changes nothing', async () => {
    const { home, before } = await seededStore();
    const bad = writeText(
      home,
      'bad.csv',
      ORDERS_CSV.replace('2,3,2.25', '2,three,2.25').replace('4,5,0.5', '4,5.5,0.5'),
    );
    const err = await rejection({ home, dataset: 'orders', paths: [bad], columns: ORDER_COLUMNS });
    expect(err.code).toBe('DATA_VALIDATION_FAILED');
    expect(err.message).toContain("column 'qty': 2 of 4 values (50.0%) are not int64");
    expect(err.message).toContain('row 2 of');
    const report = err.details!.report as IngestReport;
    expect(report.accepted).toBe(false);
    expect(report.digest).toBe('');
    const type = report.checks.find((c) => c.check === 'type' && c.column === 'qty')!;
    expect(type).toMatchObject({ passed: false, observed: 2, threshold: 0 });
    expect(type.examples).toEqual([
      { file: bad, row: 2, value: 'three' },
      { file: bad, row: 4, value: '5.5' },
    ]);
    expect(err.details!.text).toContain('FAIL type qty');
    expect(snapshot(join(home, 'offline'))).toEqual(before);
  });

  it('rejects too many missing values against the limit and changes nothing', async () => {
    const { home, before } = await seededStore();
    const sparse = writeText(home, 'sparse.csv', ORDERS_CSV.replace('1.5', '').replace('2.25', ''));
    const err = await rejection({
      home,
      dataset: 'orders',
      paths: [sparse],
      columns: ORDER_COLUMNS,
      rules: { maxMissingShare: 0.3 },
    });
    const check = (err.details!.report as IngestReport).checks.find(
      (c) => c.column === 'price' && c.check === 'missing',
    )!;
    expect(check).toMatchObject({ passed: false, observed: 0.5, threshold: 0.3, count: 2 });
    expect(err.message).toContain("column 'price': 2 of 4 values missing (50.0%), limit 30.0%");
    // note has 1 of 4 missing (25%), under the limit.
    expect(err.message).not.toContain("'note'");
    expect(snapshot(join(home, 'offline'))).toEqual(before);
  });

  it('rejects a missing required column and names the file; reports extra columns', async () => {
    const { home, before } = await seededStore();
    const csv = ['id,qty,price,day,active,extra', '1,2,1.5,2024-01-01,true,x'].join('\n');
    const path = writeText(home, 'nonote.csv', csv);
    const err = await rejection({ home, dataset: 'orders', paths: [path], columns: ORDER_COLUMNS });
    expect(err.message).toContain(`required column 'note' is missing from ${path}`);
    const checks = (err.details!.report as IngestReport).checks;
    expect(checks.find((c) => c.check === 'extra_columns')).toMatchObject({
      passed: true,
      observed: 'extra',
    });
    expect(checks.some((c) => c.column === 'note' && c.check !== 'columns')).toBe(false);
    expect(snapshot(join(home, 'offline'))).toEqual(before);
  });

  it('rejects an empty file with a report naming it', async () => {
    const { home, before } = await seededStore();
    const empty = writeText(home, 'empty.csv', '');
    const err = await rejection({ home, dataset: 'orders', paths: [empty], columns: ORDER_COLUMNS });
    expect(err.code).toBe('DATA_VALIDATION_FAILED');
    expect(err.message).toContain(`required column 'id' is missing from ${empty}`);
    expect(err.message).toContain('0 rows, at least 1 required');
    expect(snapshot(join(home, 'offline'))).toEqual(before);
  });

  it('fails on a file that does not exist, before writing anything', async () => {
    const home = tempDir();
    const missing = join(home, 'nope.csv');
    const err = await rejection({ home, dataset: 'orders', paths: [missing], columns: ORDER_COLUMNS });
    expect(err.code).toBe('RESOURCE_DOES_NOT_EXIST');
    expect(err.message).toContain(missing);
    expect(existsSync(join(home, 'offline'))).toBe(false);
  });

  it('checks the volume against the mean of earlier ingests', async () => {
    const { home, before } = await seededStore();
    const small = writeText(home, 'small.csv', ORDERS_CSV.split('\n').slice(0, 2).join('\n'));
    const rules = { volume: { maxChangeShare: 0.5 } };
    const err = await rejection({ home, dataset: 'orders', paths: [small], columns: ORDER_COLUMNS, rules });
    const check = (err.details!.report as IngestReport).checks.find((c) => c.check === 'volume_change')!;
    expect(check).toMatchObject({ passed: false, observed: 0.75, threshold: 0.5, count: 1 });
    expect(snapshot(join(home, 'offline'))).toEqual(before);
    // The same rows again: forced, since an identical batch is otherwise skipped.
    const same = writeText(home, 'same.csv', ORDERS_CSV);
    const report = await ingest({
      home,
      dataset: 'orders',
      paths: [same],
      columns: ORDER_COLUMNS,
      rules,
      force: true,
    });
    expect(report.checks.find((c) => c.check === 'volume_change')).toMatchObject({
      passed: true,
      observed: 0,
    });
  });

  it('reads several files of mixed formats into one partition, with renames', async () => {
    const home = tempDir();
    const csv = writeText(home, 'a.csv', ORDERS_CSV.replace('note', 'comment'));
    const ndjson = writeText(
      home,
      'b.ndjson',
      '{"id": 5, "qty": 1, "price": 3, "day": "2024-02-01", "comment": "j", "active": true}\n',
    );
    const parquet = join(home, 'c.parquet');
    await withDuckDB((conn) =>
      conn.run(
        `COPY (SELECT 6 AS id, 7 AS qty, 1.25 AS price, DATE '2024-03-01' AS day, 'p' AS comment, false AS active) TO '${parquet}'`,
      ),
    );
    const report = await ingest({
      home,
      dataset: 'orders',
      paths: [csv, ndjson, parquet],
      columns: ORDER_COLUMNS,
      rename: { comment: 'note' },
      rules: { uniqueKey: ['id'] },
    });
    expect(report.rows).toBe(6);
    const notes = await withDuckDB((conn) =>
      queryRows(conn, `SELECT id, note FROM read_parquet('${report.partition}') WHERE id >= 5 ORDER BY id`),
    );
    expect(notes).toEqual([
      { id: 5, note: 'j' },
      { id: 6, note: 'p' },
    ]);
  });

  it('treats declared null texts as missing values, in the checks and in the stored data', async () => {
    const home = tempDir();
    const path = writeText(home, 'q.csv', ORDERS_CSV.replace('1.5', '?').replace(',b,', ',NA,'));
    const report = await ingest({
      home,
      dataset: 'orders',
      paths: [path],
      columns: ORDER_COLUMNS,
      nullValues: ['?', 'NA'],
    });
    const missing = (column: string) =>
      report.checks.find((c) => c.check === 'missing' && c.column === column);
    expect(missing('price')).toMatchObject({ count: 1 });
    expect(missing('note')).toMatchObject({ count: 2 });
    expect(report.checks.find((c) => c.check === 'type' && c.column === 'price')).toMatchObject({ count: 0 });
    const rows = await withDuckDB((conn) =>
      queryRows(
        conn,
        `SELECT price, note FROM read_parquet('${report.partition}') WHERE id <= 2 ORDER BY id`,
      ),
    );
    expect(rows).toEqual([
      { price: null, note: 'a' },
      { price: 2.25, note: null },
    ]);
  });

  it('refuses a dataset name that could leave the store folder', async () => {
    const home = tempDir();
    const path = writeText(home, 'orders.csv', ORDERS_CSV);
    const err = await rejection({ home, dataset: '../escape', paths: [path], columns: ORDER_COLUMNS });
    expect(isKeelError(err, 'INVALID_PARAMETER_VALUE')).toBe(true);
    expect(readdirSync(home)).toEqual(['orders.csv']);
  });

  it('recognises a batch ingested before by its file digests and skips it unless forced', async () => {
    const home = tempDir();
    const path = writeText(home, 'orders.csv', ORDERS_CSV);
    const first = await ingest({ home, dataset: 'orders', paths: [path], columns: ORDER_COLUMNS });
    expect(first.inputDigest).toMatch(/^sha256:[0-9a-f]{64}$/);
    const before = snapshot(join(home, 'offline'));
    const again = await ingest({ home, dataset: 'orders', paths: [path], columns: ORDER_COLUMNS });
    expect(again).toMatchObject({
      accepted: true,
      rows: 4,
      partition: first.partition,
      digest: first.digest,
    });
    expect(again.skipped?.reason).toMatch(/the same batch .* was ingested at \d{4}-/);
    expect(snapshot(join(home, 'offline'))).toEqual(before);
    // Another file's bytes are another batch; --force ingests the same one again.
    const changed = writeText(home, 'orders2.csv', `${ORDERS_CSV}\n`);
    expect(
      (await ingest({ home, dataset: 'orders', paths: [changed], columns: ORDER_COLUMNS })).skipped,
    ).toBeUndefined();
    const forced = await ingest({
      home,
      dataset: 'orders',
      paths: [path],
      columns: ORDER_COLUMNS,
      force: true,
    });
    expect(forced.skipped).toBeUndefined();
    expect(forced.partition).not.toBe(first.partition);
  });

  it('reads a semicolon file with its delimiter sniffed, and a given dialect', async () => {
    const home = tempDir();
    const semi = writeText(home, 'orders.csv', ORDERS_CSV.replaceAll(',', ';'));
    expect((await ingest({ home, dataset: 'a', paths: [semi], columns: ORDER_COLUMNS })).rows).toBe(4);
    const pipes = writeText(
      home,
      'orders.txt.csv',
      ORDERS_CSV.replaceAll(',', '|').split('\n').slice(1).join('\n'),
    );
    const report = await ingest({
      home,
      dataset: 'b',
      paths: [pipes],
      columns: ORDER_COLUMNS.map((c, i) => ({ ...c, name: `column${i}` })),
      csv: { delimiter: '|', header: false },
    });
    expect(report.rows).toBe(4);
    const wrong = await rejection({
      home,
      dataset: 'c',
      paths: [semi],
      columns: ORDER_COLUMNS,
      csv: { delimiter: ',' },
    });
    expect(wrong.message).toMatch(/looks ';'-separated; use --delimiter ';'/);
  });
});

describe('ingest killed while writing', () => {
  it('leaves no partial partition and no history entry', { timeout: 120_000 }, async () => {
    const home = tempDir();
    const csv = join(home, 'big.csv');
    const rows = 400_000;
    await withDuckDB((conn) =>
      conn.run(
        `COPY (SELECT range AS id, range / 7 AS v, md5(range::VARCHAR) AS s FROM range(${rows})) TO '${csv}'`,
      ),
    );
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', 'test/fixtures/data/ingest-child.ts', home, csv],
      {
        stdio: 'ignore',
      },
    );
    const exited = new Promise<number | null>((done) => child.on('exit', (code) => done(code)));
    const dir = join(home, 'offline', 'big');
    let sawTemp = false;
    let running = true;
    void exited.then(() => {
      running = false;
    });
    // Kill the child the moment DuckDB starts writing the partition's temporary file.
    while (running && !sawTemp) {
      sawTemp = existsSync(dir) && readdirSync(dir).some((f) => f.endsWith('.tmp'));
      if (sawTemp) child.kill('SIGKILL');
      else await new Promise((r) => setTimeout(r, 2));
    }
    await exited;
    const parts = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.parquet')) : [];
    if (sawTemp) {
      // Killed before the rename (the common case) or, rarely, just after it: never half a file.
      for (const part of parts) {
        const [count] = await withDuckDB((conn) =>
          queryRows(conn, `SELECT count(*) AS n FROM '${join(dir, part)}'`),
        );
        expect(count.n).toBe(rows);
      }
      expect(parts.length).toBeLessThanOrEqual(1);
      if (parts.length === 0) expect(existsSync(join(dir, '_ingests.json'))).toBe(false);
    } else {
      // The child finished before the poll saw its temporary file: then the partition is whole.
      expect(parts).toHaveLength(1);
    }
    // The next ingest takes over the dead writer's lock and clears its leftover.
    const small = writeText(home, 'small.csv', 'id,v,s\n1,0.5,a\n');
    const columns = [
      { name: 'id', type: 'int64' as const },
      { name: 'v', type: 'float64' as const },
      { name: 's', type: 'string' as const },
    ];
    await ingest({ home, dataset: 'big', paths: [small], columns });
    expect(readdirSync(dir).filter((f) => !f.endsWith('.parquet'))).toEqual(['_ingests.json']);
  });
});
