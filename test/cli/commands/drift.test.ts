import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { withDuckDB } from '../../../src/data/sql.js';
import { keel } from '../../helpers/cli.js';
import { tempDir } from '../../helpers/temp.js';

const dir = tempDir('keel-drift-');
const file = (name: string) => join(dir, name);

/** rows from..from+n of a table with a numeric x (some missing), a small integer y and a colour. */
const table = (from: number, n: number, shift: number, colours: string) => `
  SELECT CASE WHEN i % 50 = 0 THEN NULL ELSE (i * 37 % 1000) / 10.0 + ${shift} END AS x,
         CAST(i % 3 AS INTEGER) AS y,
         ${colours} AS colour
  FROM range(${from}, ${from + n}) t(i)`;
const even = `['red', 'green', 'blue'][i % 3 + 1]`;
const skewed = `CASE WHEN i % 5 = 0 THEN 'green' ELSE 'red' END`;

beforeAll(async () => {
  await withDuckDB(async (conn) => {
    await conn.run(`COPY (${table(0, 2000, 0, even)}) TO '${file('ref.parquet')}' (FORMAT parquet)`);
    await conn.run(`COPY (${table(2000, 1500, 0, even)}) TO '${file('same.parquet')}' (FORMAT parquet)`);
    await conn.run(`COPY (${table(2000, 1500, 30, skewed)}) TO '${file('drift.parquet')}' (FORMAT parquet)`);
  });
  const csv = (shift: number) =>
    [
      'amount,segment',
      ...Array.from({ length: 300 }, (_, i) => `${i % 7 === 0 ? 'NA' : (i % 97) + shift},${'abcd'[i % 4]}`),
    ].join('\n');
  writeFileSync(file('ref.csv'), `${csv(0)}\n`);
  writeFileSync(file('cur.csv'), `${csv(40)}\n`);
});

describe('keel drift', () => {
  it('leaves id, timestamp and ignored columns untested and the label out of the verdict, by metadata and flags', async () => {
    const roles = JSON.stringify({ id: 'id', day: 'timestamp', split: 'ignored', label: 'target' });
    await withDuckDB(async (conn) => {
      const rows = (from: number, n: number, labelShift: string) => `
        SELECT i AS id, DATE '2024-01-01' + CAST(i AS INTEGER) AS day, CASE WHEN i % 5 = 0 THEN 'test' ELSE 'train' END AS split,
               (i * 37 % 1000) / 10.0 AS x, 7.0 AS flat, ${labelShift} AS label
        FROM range(${from}, ${from + n}) t(i)`;
      await conn.run(
        `COPY (${rows(0, 1500, 'i % 2')}) TO '${file('roles-ref.parquet')}' (FORMAT parquet, KV_METADATA {'keel.column_roles': '${roles}'})`,
      );
      await conn.run(`COPY (${rows(5000, 1500, '1')}) TO '${file('roles-cur.parquet')}' (FORMAT parquet)`);
    });
    const res = await keel(['drift', '-r', file('roles-ref.parquet'), '-c', file('roles-cur.parquet')], {
      cwd: dir,
    });
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toContain('not tested: id (id), day (timestamp), split (ignored)');
    expect(res.stdout).toContain('not in the verdict: label (target)');
    expect(res.stdout).toMatch(/label \(target\)\s+numerical\s+jensenshannon\s+[\d.]+\s+0\.1\s+yes/);
    // A constant reference column: a readable verdict, not a distance over a 0.001 floor.
    expect(res.stdout).toMatch(/flat\s+numerical\s+jensenshannon\s+constant 7 in both tables\s+0\.1\s+no/);
    expect(res.stdout).toContain('no dataset drift: 0 of 2 columns drifted');
    const flags = await keel(
      ['drift', '-r', file('roles-ref.parquet'), '-c', file('roles-cur.parquet'), '--ignore', 'x', '--json'],
      { cwd: dir },
    );
    const doc = JSON.parse(flags.stdout);
    expect(doc.skipped.map((c: { column: string }) => c.column)).toEqual(['id', 'day', 'split', 'x']);
  });

  it('reports no drift between two samples of one distribution and exits 0', async () => {
    const res = await keel(['drift', '--reference', file('ref.parquet'), '--current', file('same.parquet')], {
      cwd: dir,
    });
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    expect(res.stdout).toMatch(/^column\s+type\s+test\s+value\s+threshold\s+drifted/);
    expect(res.stdout).toMatch(/x\s+numerical\s+wasserstein\s+[\d.]+\s+0\.1\s+no/);
    expect(res.stdout).toContain('no dataset drift: 0 of 3 columns drifted');

    const json = await keel(['drift', '-r', file('ref.parquet'), '-c', file('same.parquet'), '--json'], {
      cwd: dir,
    });
    const result = JSON.parse(json.stdout);
    expect(result.drifted).toBe(false);
    expect(result.columns.map((c: { column: string; test: string }) => [c.column, c.test])).toEqual([
      ['x', 'wasserstein'],
      ['y', 'jensenshannon'],
      ['colour', 'jensenshannon'],
    ]);
    expect(result.columns[0].reference).toEqual({ rows: 2000, missing: 40 });
  });

  it('exits 7 on dataset drift with the table on stdout, the result itself in --json, and writes --html', async () => {
    const html = file('report.html');
    const res = await keel(
      ['drift', '-r', file('ref.parquet'), '-c', file('drift.parquet'), '--html', html],
      {
        cwd: dir,
      },
    );
    expect(res.code).toBe(7);
    expect(res.stderr.trim()).toBe('keel: dataset drift: 2 of 3 columns drifted');
    expect(res.stdout).toMatch(/colour\s+categorical\s+jensenshannon\s+[\d.]+\s+0\.1\s+yes/);
    expect(res.stdout).toContain('dataset drift: 2 of 3 columns drifted (share 0.667, threshold 0.5)');
    const page = readFileSync(html, 'utf8');
    expect(page).toContain('Dataset drift detected');
    expect(page.match(/<svg /g)).toHaveLength(3);
    expect(page).toContain('<title>green: ');
    // Axes are labelled: the share on y, category names and bin edges on x.
    expect(page).toContain('>share</text>');
    expect(page).toMatch(/rotate\(-35\)" text-anchor="end">green<\/text>/);
    expect(page).toMatch(/text-anchor="start">0<\/text>/);

    const json = await keel(['drift', '-r', file('ref.parquet'), '-c', file('drift.parquet'), '--json'], {
      cwd: dir,
    });
    expect(json.code).toBe(7);
    expect(json.stderr).toBe('');
    // The same document as without drift: the result, not an error envelope.
    const out = JSON.parse(json.stdout);
    expect(out).not.toHaveProperty('error_code');
    expect(out).toMatchObject({ drifted: true, driftedColumns: 2, share: 2 / 3 });
    expect(Object.keys(out).sort()).toEqual([
      'columns',
      'driftShare',
      'drifted',
      'driftedColumns',
      'share',
      'skipped',
    ]);
  });

  it('takes a test for every column, per kind or per column (Evidently naming), and thresholds', async () => {
    const run = async (...args: string[]) => {
      const res = await keel(
        ['drift', '-r', file('ref.parquet'), '-c', file('same.parquet'), '--json', ...args],
        {
          cwd: dir,
        },
      );
      return { ...res, out: JSON.parse(res.stdout) };
    };
    const tests = (out: { columns: Array<{ column: string; test: string; threshold: number }> }) =>
      out.columns.map((c) => [c.column, c.test, c.threshold]);
    expect(tests((await run('--stattest', 'psi')).out)).toEqual([
      ['x', 'psi', 0.1],
      ['y', 'psi', 0.1],
      ['colour', 'psi', 0.1],
    ]);
    // Per column beats per kind, which beats the one for every column.
    const mixed = await run(
      '--stattest',
      'jensenshannon',
      '--num-stattest',
      'ks',
      '--cat-stattest',
      'chisquare',
      '--stattest',
      'y=psi',
      '--stattest-threshold',
      'y=0.25',
    );
    expect(mixed.code).toBe(0);
    expect(tests(mixed.out)).toEqual([
      ['x', 'ks', 0.05],
      ['y', 'psi', 0.25],
      ['colour', 'chisquare', 0.05],
    ]);
    expect(tests((await run('--stattest-threshold', '0.3')).out).map((t) => t[2])).toEqual([0.3, 0.3, 0.3]);

    const unknown = await run('--stattest', 'x=anderson');
    expect(unknown.code).toBe(2);
    expect(unknown.out.message).toContain(
      "--stattest: unknown test 'anderson' (tests: ks, wasserstein, psi, jensenshannon, chisquare, z)",
    );
    const categorical = await run('--stattest', 'colour=ks');
    expect(categorical.code).toBe(2);
    expect(categorical.out.message).toContain("test 'ks' needs a numerical column; 'colour' is categorical");
    expect((await run('--stattest-threshold', 'y=-1')).out.message).toContain(
      "--stattest-threshold: 'y=-1' needs a number >= 0",
    );
    expect((await run('--stattest', 'nope=psi')).out.message).toContain("column 'nope', which is not tested");
  });

  it('tests only --columns, and reads CSV with numeric text as numbers (small n: KS and chi-square)', async () => {
    const res = await keel(
      ['drift', '-r', file('ref.csv'), '-c', file('cur.csv'), '--columns', 'amount,segment', '--json'],
      {
        cwd: dir,
      },
    );
    const columns = JSON.parse(res.stdout).columns;
    expect(
      columns.map((c: { column: string; type: string; test: string }) => [c.column, c.type, c.test]),
    ).toEqual([
      ['amount', 'numerical', 'ks'],
      ['segment', 'categorical', 'chisquare'],
    ]);
    expect(columns[0].reference.missing).toBe(43);

    const one = JSON.parse(
      (
        await keel(
          ['drift', '-r', file('ref.csv'), '-c', file('ref.csv'), '--columns', 'segment', '--json'],
          {
            cwd: dir,
          },
        )
      ).stdout,
    );
    expect(one.columns.map((c: { column: string }) => c.column)).toEqual(['segment']);
  });

  it('names an unknown column, a missing file and a column the current file lacks (exit 2 / 4)', async () => {
    const unknown = await keel(
      ['drift', '-r', file('ref.parquet'), '-c', file('same.parquet'), '--columns', 'x,nope'],
      { cwd: dir },
    );
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain(
      `column 'nope' is not in '${file('ref.parquet')}' (columns: x, y, colour)`,
    );

    const missing = await keel(['drift', '-r', file('absent.parquet'), '-c', file('same.parquet')], {
      cwd: dir,
    });
    expect(missing.code).toBe(4);
    expect(missing.stderr).toContain('absent.parquet');

    const lacks = await keel(['drift', '-r', file('ref.parquet'), '-c', file('cur.csv')], { cwd: dir });
    expect(lacks.code).toBe(2);
    expect(lacks.stderr).toContain(`column 'x' is not in '${file('cur.csv')}'`);
    expect(existsSync(file('absent.parquet'))).toBe(false);
  });
});
