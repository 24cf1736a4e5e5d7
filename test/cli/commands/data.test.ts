import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
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

function keel(home: string, args: string[]) {
  const result = spawnSync(process.execPath, ['--import', 'tsx', join('src', 'cli', 'main.ts'), ...args], {
    env: { ...process.env, KEEL_HOME: home },
    encoding: 'utf8',
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('keel ingest', () => {
  it('ingests a file, then rejects a bad one with the report, exit code 8 and an unchanged store', () => {
    const home = tempDir();
    const schema = writeText(home, 'schema.yaml', SCHEMA);
    const good = writeText(home, 'orders.csv', ORDERS_CSV);
    const ok = keel(home, ['ingest', 'orders', good, '--schema', schema]);
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
    const rejected = keel(home, ['ingest', 'orders', bad, '--schema', schema]);
    expect(rejected.code).toBe(8);
    expect(rejected.stderr).toContain(
      "FAIL range qty: column 'qty': 1 of 4 values (25.0%) are outside 0..inf",
    );
    expect(rejected.stderr).toContain('FAIL unique_key: 1 of 4 rows (25.0%) repeat an earlier key (id)');
    expect(snapshot(join(home, 'offline'))).toEqual(before);

    const json = keel(home, ['ingest', 'orders', bad, '--schema', schema, '--json']);
    expect(json.code).toBe(8);
    const doc = JSON.parse(json.stdout);
    expect(doc.error_code).toBe('DATA_VALIDATION_FAILED');
    expect(doc.details.report.accepted).toBe(false);
    expect(doc.details.report.checks.filter((c: { passed: boolean }) => !c.passed)).toHaveLength(2);
  });

  it('refuses a schema with an unknown type, naming the field, before reading any data', () => {
    const home = tempDir();
    const schema = writeText(home, 'schema.yaml', SCHEMA.replace('type: float64', 'type: decimal'));
    const good = writeText(home, 'orders.csv', ORDERS_CSV);
    const result = keel(home, ['ingest', 'orders', good, '--schema', schema, '--max-missing', '0.1']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(
      `Invalid schema ${schema}: columns.2.type: unknown type "decimal": use one of int64, float64, string`,
    );
    expect(existsSync(join(home, 'offline'))).toBe(false);
  });
});
