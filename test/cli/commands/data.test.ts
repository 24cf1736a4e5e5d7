import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { keel as runKeel } from '../../helpers/cli.js';
import { ORDERS_CSV, snapshot, tempDir, writeText } from '../../helpers/data.js';

const SCHEMA = `
columns:
  - { name: id, type: int64, nullable: false }
  - { name: qty, type: int64, min: 0 }
  - { name: price, type: float64 }
  - { name: day, type: date }
  - { name: note, type: string }
  - { name: active, type: bool }
rules:
  uniqueKey: [id]
`;

const keel = (home: string, args: string[]) => runKeel(args, { cwd: home, env: { KEEL_HOME: home } });

describe('keel ingest', () => {
  it('ingests a file, then rejects a bad one with the report, exit code 8 and an unchanged store', async () => {
    const home = tempDir();
    const schema = writeText(home, 'schema.yaml', SCHEMA);
    const good = writeText(home, 'orders.csv', ORDERS_CSV);
    const ok = await keel(home, ['ingest', 'orders', good, '--schema', schema]);
    expect(ok.stderr).toBe('');
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain("Dataset 'orders' accepted: 4 rows from 1 file");
    expect(ok.stdout).toMatch(/partition: .*part-\d+-[0-9a-f]{8}\.parquet/);

    const before = snapshot(join(home, 'offline'));
    const bad = writeText(
      home,
      'bad.csv',
      ORDERS_CSV.replace('\n3,1,', '\n3,-1,').replace('\n4,5,', '\n2,5,'),
    );
    const rejected = await keel(home, ['ingest', 'orders', bad, '--schema', schema]);
    expect(rejected.code).toBe(8);
    expect(rejected.stderr).toContain(
      "FAIL range qty: column 'qty': 1 of 4 values (25.0%) are outside 0..inf",
    );
    expect(rejected.stderr).toContain('FAIL unique_key: 1 of 4 rows (25.0%) repeat an earlier key (id)');
    expect(snapshot(join(home, 'offline'))).toEqual(before);

    const json = await keel(home, ['ingest', 'orders', bad, '--schema', schema, '--json']);
    expect(json.code).toBe(8);
    const doc = JSON.parse(json.stdout);
    expect(doc.error_code).toBe('DATA_VALIDATION_FAILED');
    expect(doc.details.report.accepted).toBe(false);
    expect(doc.details.report.checks.filter((c: { passed: boolean }) => !c.passed)).toHaveLength(2);
  });

  it('refuses a schema with an unknown type, naming the field, before reading any data', async () => {
    const home = tempDir();
    const schema = writeText(home, 'schema.yaml', SCHEMA.replace('type: float64', 'type: decimal'));
    const good = writeText(home, 'orders.csv', ORDERS_CSV);
    const result = await keel(home, ['ingest', 'orders', good, '--schema', schema, '--max-missing', '0.1']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(
      `Invalid schema ${schema}: columns.2.type: unknown type "decimal": use one of int64, float64, string`,
    );
    expect(existsSync(join(home, 'offline'))).toBe(false);
  });
});

describe('keel datasets and keel show', () => {
  it('ingests a semicolon file by sniffing, names the delimiter a wrong --delimiter missed, then lists, shows and removes the dataset', async () => {
    const home = tempDir();
    const schema = writeText(home, 'schema.yaml', SCHEMA);
    const semi = writeText(home, 'orders.csv', ORDERS_CSV.replaceAll(',', ';'));
    const wrong = await keel(home, ['ingest', 'orders', semi, '--schema', schema, '--delimiter', ',']);
    expect(wrong.code).toBe(2);
    expect(wrong.stderr.trim()).toBe(
      `keel: '${semi}' reads as one column with delimiter ',', but its first line holds ';': it looks ';'-separated; use --delimiter ';' (or csv: { delimiter: ';' })`,
    );
    expect((await keel(home, ['ingest', 'orders', semi, '--schema', schema])).code).toBe(0);
    const twice = await keel(home, ['ingest', 'orders', semi, '--schema', schema]);
    expect(twice.stdout).toMatch(
      /^Dataset 'orders': nothing ingested, the same batch .* \(use --force to ingest it again\)/,
    );

    const list = await keel(home, ['datasets', 'list']);
    expect(list.stdout).toMatch(/^NAME\s+PARTITIONS\s+ROWS\s+LAST INGEST\norders\s+1\s+4\s+\d{4}-/);
    const shown = JSON.parse((await keel(home, ['datasets', 'show', 'orders', '--json'])).stdout);
    expect(shown.columns.map((c: { name: string; type: string }) => `${c.name} ${c.type}`)).toEqual([
      'id BIGINT',
      'qty BIGINT',
      'price DOUBLE',
      'day DATE',
      'note VARCHAR',
      'active BOOLEAN',
    ]);
    expect(shown.digest).toMatch(/^sha256:/);
    expect(shown.ingests).toHaveLength(1);

    const missing = await keel(home, ['datasets', 'show', 'order']);
    expect(missing.code).toBe(4);
    expect(missing.stderr).toContain("Dataset 'order' does not exist");
    expect(missing.stderr).toContain('(datasets: orders)');
    const removed = await keel(home, ['datasets', 'rm', 'orders']);
    expect(removed.stdout.trim()).toBe('removed dataset orders: 1 partitions, 4 rows');
    expect(existsSync(join(home, 'offline', 'orders'))).toBe(false);
    expect(JSON.parse((await keel(home, ['datasets', 'list', '--json'])).stdout)).toEqual([]);
  });

  it('shows a file: its columns, row count and first rows; a missing file is one line', async () => {
    const home = tempDir();
    const csv = writeText(home, 'orders.csv', ORDERS_CSV.replaceAll(',', '|'));
    const res = await keel(home, ['show', csv, '-n', '2']);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toContain(`${csv}: csv ('|'-separated, sniffed, header;`);
    expect(res.stdout).toContain('4 rows, 6 columns');
    expect(res.stdout).toMatch(/first 2 rows:\nid\s+qty\s+price\s+day\s+note\s+active\n1\s+2\s+1\.5/);
    const json = JSON.parse((await keel(home, ['show', csv, '--json'])).stdout);
    expect(json).toMatchObject({ rows: 4, csv: { delimiter: '|', header: true } });
    expect(json.head).toHaveLength(4);
    const missing = await keel(home, ['show', join(home, 'nope.parquet')]);
    expect(missing.code).toBe(4);
    expect(missing.stderr).toBe(`keel: File '${join(home, 'nope.parquet')}' does not exist\n`);
  });
});
