/**
 * `keel score` as a user runs it, as a child process on one project folder: a registered Keel
 * GBDT scores a Parquet and a CSV file; `--json` prints the figures; an unknown model exits 4.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/core/index.js';
import { buildRepo, FeatureStore } from '../../../src/features/index.js';
import { predictGbdt } from '../../../src/ml/index.js';
import { Registry } from '../../../src/registry/index.js';
import { keel } from '../../helpers/cli.js';
import { tempDir } from '../../helpers/temp.js';
import {
  CUSTOMER_FEATURES,
  customerSnapshots,
  featureMatrix,
  readParquet,
  registerModel,
  scoringRows,
  trainModel,
  writeCsv,
  writeParquet,
} from '../../serving/fixtures.js';

describe('keel score', () => {
  const cwd = tempDir();
  const rows = scoringRows(3000, 7);
  let expected: Float64Array;
  let expectedOnline: Float64Array;

  beforeAll(async () => {
    // No gates, so the version can become the champion; set up through the library, to keep the
    // child processes to the command under test.
    writeFileSync(join(cwd, 'keel.yaml'), 'governance:\n  stages: {}\n');
    const registry = await Registry.open(loadConfig({ cwd, env: {} }));
    const model = trainModel();
    await registerModel(registry, model, tempDir());
    await registry.promote('churn', 1, 'Production');
    await registerModel(registry, model, tempDir(), 'churn_online', CUSTOMER_FEATURES);
    await registry.close();
    const customers = customerSnapshots(cwd);
    const store = new FeatureStore({ config: loadConfig({ cwd, env: {} }) });
    store.applyRepo(buildRepo(customers.definitions));
    await store.close();
    expectedOnline = predictGbdt(model, featureMatrix(customers.expected));
    expected = predictGbdt(model, featureMatrix(rows));
    await writeParquet(join(cwd, 'rows.parquet'), rows);
    writeCsv(join(cwd, 'rows.csv'), rows);
  });

  it('scores a Parquet file and prints the figures as JSON', async () => {
    const res = await keel(
      [
        'score',
        '--model',
        'models:/churn@champion',
        '--data',
        'rows.parquet',
        '--out',
        'out/scores.parquet',
        '--keep',
        'id,note',
        '--chunk-rows',
        '1000',
        '--json',
      ],
      { cwd },
    );
    expect(res.code, res.stderr).toBe(0);
    const result = JSON.parse(res.stdout);
    expect(result).toMatchObject({
      rows: 3000,
      model: 'churn',
      version: '1',
      output: join(cwd, 'out', 'scores.parquet'),
    });
    expect(result.seconds).toBeGreaterThan(0);
    expect(result.rows_per_second).toBeCloseTo(3000 / result.seconds, 3);
    const out = await readParquet(result.output);
    expect(out.columns).toEqual(['id', 'note', 'score', 'model_name', 'model_version']);
    expect(out.rows.map((r) => Number(r.id))).toEqual(rows.id);
    out.rows.forEach((r, i) => {
      expect(Math.abs((r.score as number) - expected[i])).toBeLessThan(1e-6);
    });
  });

  it('scores a CSV file with a human summary', async () => {
    const res = await keel(['score', '-m', 'models:/churn/1', '-d', 'rows.csv', '-o', 'csv.parquet'], {
      cwd,
    });
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toMatch(
      /^scored 3000 rows with churn version 1 in [\d.]+ s \(\d+ rows\/s\): .*csv\.parquet\n$/,
    );
    const out = await readParquet(join(cwd, 'csv.parquet'));
    expect(out.columns).toEqual(['score', 'model_name', 'model_version']);
    expect(Math.abs((out.rows[2999].score as number) - expected[2999])).toBeLessThan(1e-6);

    // The same rows semicolon-separated: sniffed, or named with --delimiter.
    writeFileSync(
      join(cwd, 'rows-semi.csv'),
      readFileSync(join(cwd, 'rows.csv'), 'utf8').replaceAll(',', ';'),
    );
    for (const flags of [[], ['--delimiter', ';']]) {
      const semi = await keel(
        ['score', '-m', 'models:/churn/1', '-d', 'rows-semi.csv', '-o', 'semi.parquet', ...flags],
        {
          cwd,
        },
      );
      expect(semi.code, semi.stderr).toBe(0);
      const scored = await readParquet(join(cwd, 'semi.parquet'));
      expect(Math.abs((scored.rows[2999].score as number) - expected[2999])).toBeLessThan(1e-6);
    }
  });

  it("scores entity rows with --entities, joining the model's features from the offline store", async () => {
    const res = await keel(
      [
        'score',
        '--entities',
        '-m',
        'models:/churn_online/1',
        '-d',
        'entities.csv',
        '-o',
        'online.parquet',
        '--keep',
        'request',
        '--json',
      ],
      { cwd },
    );
    expect(res.code, res.stderr).toBe(0);
    expect(JSON.parse(res.stdout)).toMatchObject({ rows: 3, model: 'churn_online', version: '1' });
    const out = await readParquet(join(cwd, 'online.parquet'));
    expect(out.rows.map((r) => r.request)).toEqual(['r1', 'r2', 'r3']);
    out.rows.forEach((r, i) => {
      expect(Math.abs((r.score as number) - expectedOnline[i])).toBeLessThan(1e-6);
    });
  });

  it('exits 4 for an unknown model and 2 for a file without a model column, writing nothing', async () => {
    const unknown = await keel(
      [
        'score',
        '--model',
        'models:/nope@champion',
        '--data',
        'rows.parquet',
        '--out',
        'nope.parquet',
        '--json',
      ],
      { cwd },
    );
    expect(unknown.code).toBe(4);
    expect(JSON.parse(unknown.stdout)).toMatchObject({ error_code: 'RESOURCE_DOES_NOT_EXIST' });
    expect(existsSync(join(cwd, 'nope.parquet'))).toBe(false);

    await writeParquet(join(cwd, 'no-a.parquet'), rows, 'a');
    const missing = await keel(
      ['score', '-m', 'models:/churn/1', '-d', 'no-a.parquet', '-o', 'no-a-scores.parquet'],
      {
        cwd,
      },
    );
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("lacks the model's column 'a'");
    expect(existsSync(join(cwd, 'no-a-scores.parquet'))).toBe(false);

    const columns = await keel(
      ['score', '-m', 'models:/churn/1', '-d', 'rows.parquet', '-o', 'c.parquet', '--columns', 'a,colour'],
      { cwd },
    );
    expect(columns.code).toBe(2);
    expect(columns.stderr).toContain(
      'churn version 1 takes 3 values a row; 2 column names given (a, colour)',
    );
  });
});
