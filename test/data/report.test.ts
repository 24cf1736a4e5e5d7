import { describe, expect, it } from 'vitest';
import { formatReport, type IngestReport } from '../../src/data/index.js';

const base: IngestReport = {
  dataset: 'orders',
  accepted: false,
  rows: 1234,
  files: ['a.csv', 'b.csv'],
  checks: [
    {
      check: 'columns',
      passed: true,
      observed: 'all present',
      threshold: 'required',
      message: 'all declared columns present in 2 files',
    },
    {
      check: 'missing',
      column: 'price',
      passed: false,
      observed: 0.5,
      threshold: 0.1,
      message: "column 'price': 617 of 1,234 values missing (50.0%), limit 10.0%",
    },
  ],
  digest: '',
};

describe('formatReport', () => {
  it('puts the verdict first and failures before passes, naming rule, column and figures', () => {
    expect(formatReport(base).split('\n')).toEqual([
      "Dataset 'orders' rejected: 1,234 rows from 2 files, 1 of 2 checks failed; nothing was written",
      "  FAIL missing price: column 'price': 617 of 1,234 values missing (50.0%), limit 10.0%",
      '  ok   columns: all declared columns present in 2 files',
    ]);
  });

  it('ends an accepted report with the partition and its digest', () => {
    const text = formatReport({
      ...base,
      accepted: true,
      files: ['a.csv'],
      checks: [base.checks[0]],
      partition: '/h/offline/orders/part-1-ab.parquet',
      digest: 'sha256:00',
    });
    expect(text.split('\n')[0]).toBe(
      "Dataset 'orders' accepted: 1,234 rows from 1 file, all 1 checks passed",
    );
    expect(text.endsWith('partition: /h/offline/orders/part-1-ab.parquet\ndigest: sha256:00')).toBe(true);
  });
});
