import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { KeelError } from '../../src/core/index.js';
import { type IngestReport, ingest, loadSchemaFile } from '../../src/data/index.js';
import { queryRows, withDuckDB } from '../../src/data/sql.js';
import { snapshot, tempDir } from '../helpers/data.js';

// Shipped with the churn example (CC BY 4.0), so this suite always runs.
const DATA = 'examples/churn/data/online_retail.csv.gz';
const spec = loadSchemaFile('examples/churn/online_retail.schema.yaml');

describe('ingest online_retail.csv.gz', () => {
  // One read of the CSV; the duplicate rejection then re-ingests the stored Parquet partition.
  it('stores all 541,909 typed rows with the README figures, and rejects them over a duplicate limit', {
    timeout: 120_000,
  }, async () => {
    const home = tempDir();
    const options = { home, dataset: 'retail', columns: spec.columns, rename: spec.rename };
    const report = await ingest({ ...options, paths: [DATA], rules: spec.rules });
    expect(report.accepted).toBe(true);
    expect(report.rows).toBe(541_909);
    const find = (check: string, column?: string) =>
      report.checks.find((c) => c.check === check && c.column === column)!;
    expect(find('missing', 'CustomerID')).toMatchObject({ count: 135_080, passed: true, threshold: 0.3 });
    expect((find('missing', 'CustomerID').observed as number).toFixed(3)).toBe('0.249');
    expect(find('missing', 'Description')).toMatchObject({ count: 1_454 });
    expect(find('duplicates')).toMatchObject({ count: 5_268, threshold: null, passed: true });
    expect(report.checks.filter((c) => c.check === 'type').every((c) => c.count === 0)).toBe(true);

    const [stored] = await withDuckDB((conn) =>
      queryRows(
        conn,
        `SELECT count(*) AS n, count(DISTINCT InvoiceNo) AS invoices, count(DISTINCT CustomerID) AS customers,
                count(DISTINCT Country) AS countries, round(sum(Quantity * UnitPrice), 2) AS revenue,
                min(InvoiceDate) AS first, typeof(any_value(CustomerID)) AS customer_type,
                typeof(any_value(InvoiceDate)) AS date_type
         FROM read_parquet('${report.partition}')`,
      ),
    );
    expect(stored).toMatchObject({
      n: 541_909,
      invoices: 25_900,
      customers: 4_372,
      countries: 38,
      revenue: 9_747_747.93,
      customer_type: 'DOUBLE',
      date_type: 'TIMESTAMP',
    });
    expect((stored.first as Date).toISOString()).toBe('2010-12-01T08:26:00.000Z');

    const before = snapshot(join(home, 'offline'));
    let rejected: IngestReport | undefined;
    try {
      await ingest({
        ...options,
        paths: [report.partition!],
        rules: { ...spec.rules, maxDuplicateShare: 0.005 },
      });
    } catch (err) {
      expect((err as KeelError).code).toBe('DATA_VALIDATION_FAILED');
      expect((err as Error).message).toContain(
        '5,268 of 541,909 rows (0.97%) repeat an earlier row exactly, limit 0.50%',
      );
      rejected = (err as KeelError).details!.report as IngestReport;
    }
    expect(rejected?.checks.filter((c) => !c.passed).map((c) => c.check)).toEqual(['duplicates']);
    expect(snapshot(join(home, 'offline'))).toEqual(before);
  });
});
