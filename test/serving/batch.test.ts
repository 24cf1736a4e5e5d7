/**
 * Batch scoring against a real registry, DuckDB and ONNX Runtime: a Keel-trained GBDT with a
 * categorical column scores Parquet and CSV files in several chunks, and the scores equal the
 * TypeScript model's.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KeelError, type ProgressEvent } from '../../src/core/index.js';
import { type GbdtModel, predictGbdt } from '../../src/ml/index.js';
import type { Registry } from '../../src/registry/index.js';
import { scoreDataset } from '../../src/serving/index.js';
import { storeWith } from '../features/helpers.js';
import { openTestRegistry } from '../helpers/registry.js';
import { tempDir } from '../helpers/temp.js';
import {
  COLOURS,
  CUSTOMER_FEATURES,
  customerSnapshots,
  featureMatrix,
  query,
  readParquet,
  registerModel,
  scoringRows,
  trainModel,
  writeCsv,
  writeParquet,
} from './fixtures.js';

const FLOAT32 = 1e-6;

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  return d;
}

async function rejection(work: Promise<unknown>): Promise<KeelError> {
  const err = await work.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(KeelError);
  return err as KeelError;
}

describe('scoreDataset', () => {
  const dir = tempDir();
  const rows = scoringRows(5000, 2);
  const uri = 'models:/churn@champion';
  let registry: Registry;
  let model: GbdtModel;
  let cleanup: () => Promise<void>;
  let expected: Float64Array;

  beforeAll(async () => {
    ({ registry, cleanup } = await openTestRegistry('sqlite'));
    model = trainModel();
    await registerModel(registry, model, dir);
    await registry.promote('churn', 1, 'Production');
    expected = predictGbdt(model, featureMatrix(rows));
  });
  afterAll(() => cleanup());

  it('scores a Parquet file chunk by chunk; the scores equal predictGbdt, kept columns come first', async () => {
    const input = await writeParquet(join(dir, 'rows.parquet'), rows);
    const events: ProgressEvent[] = [];
    const result = await scoreDataset({
      registry,
      model: uri,
      input,
      output: join(dir, 'out', 'scores.parquet'),
      keep: ['note', 'id'],
      chunkRows: 1000,
      progress: (e) => events.push(e),
    });
    expect(result).toMatchObject({ rows: 5000, model: 'churn', version: '1' });
    expect(result.rowsPerSecond).toBeGreaterThan(0);
    // Several chunks, each reported as it was written.
    expect(events.length).toBeGreaterThanOrEqual(3);
    expect(events.map((e) => e.done)).toEqual([...events.map((e) => e.done)].sort((a, b) => a - b));
    expect(events.at(-1)).toMatchObject({ done: 5000, total: 5000, unit: 'rows' });

    const out = await readParquet(result.output);
    expect(out.columns).toEqual(['note', 'id', 'score', 'model_name', 'model_version']);
    expect(out.types).toEqual(['VARCHAR', 'BIGINT', 'DOUBLE', 'VARCHAR', 'VARCHAR']);
    expect(out.rows.map((r) => Number(r.id))).toEqual(rows.id);
    expect(out.rows[42].note).toBe('n42');
    expect(
      maxDiff(
        Float64Array.from(out.rows, (r) => r.score as number),
        expected,
      ),
    ).toBeLessThan(FLOAT32);
    expect(new Set(out.rows.map((r) => `${r.model_name} ${r.model_version}`))).toEqual(new Set(['churn 1']));
    // Only the output is left in its folder: no parts, no temporary file.
    expect(readdirSync(join(dir, 'out'))).toEqual(['scores.parquet']);
  });

  it('scores a gzipped CSV the same, encoding colours by the model categories, not the file', async () => {
    // The file's own sorted colours would be blue, green, purple, red: red would get another code.
    expect(new Set(rows.colour)).toEqual(new Set([...COLOURS, 'purple', null]));
    const input = writeCsv(join(dir, 'rows.csv.gz'), rows);
    const result = await scoreDataset({
      registry,
      model: 'models:/churn/1',
      input,
      output: join(dir, 'csv-scores.parquet'),
      keep: ['id'],
    });
    const out = await readParquet(result.output);
    expect(out.columns).toEqual(['id', 'score', 'model_name', 'model_version']);
    // A kept CSV column is typed as its values are, as a Parquet one is.
    expect(out.types[0]).toBe('BIGINT');
    expect(out.rows.map((r) => r.id)).toEqual(rows.id.map(BigInt));
    const scores = Float64Array.from(out.rows, (r) => r.score as number);
    expect(maxDiff(scores, expected)).toBeLessThan(FLOAT32);
    // The colour matters to this model: red rows score differently from the same rows in blue.
    const red = rows.colour.flatMap((c, i) => (c === 'red' ? [i] : []));
    const blue = predictGbdt(model, featureMatrix({ ...rows, colour: rows.colour.map(() => 'blue') }));
    expect(red.some((i) => Math.abs(blue[i] - scores[i]) > 0.01)).toBe(true);
  });

  it('copies kept columns of any type unchanged, nulls included', async () => {
    const plain = await writeParquet(join(dir, 'plain.parquet'), scoringRows(3000, 6));
    const input = join(dir, 'typed.parquet');
    await query(
      `COPY (SELECT TIMESTAMPTZ '2024-01-01 00:00:00+00' + to_seconds(id) AS seen_at, CASE WHEN id % 7 = 0 THEN NULL ELSE (id / 100)::DECIMAL(10, 2) END AS amount, {'id': id, 'tags': [note, NULL]} AS info, * FROM read_parquet('${plain}')) TO '${input}' (FORMAT parquet)`,
    );
    const keep = ['info', 'amount', 'seen_at'];
    const { output } = await scoreDataset({
      registry,
      model: uri,
      input,
      keep,
      output: join(dir, 'typed-scores.parquet'),
      chunkRows: 2048,
    });
    const out = await readParquet(output);
    expect(out.columns.slice(0, 3)).toEqual(keep);
    expect(out.types.slice(0, 3)).toEqual(
      (await query(`SELECT info, amount, seen_at FROM read_parquet('${input}') LIMIT 0`)).types,
    );
    const differ = await query(
      `SELECT count(*) AS n FROM (SELECT info, amount, seen_at, row_number() OVER () FROM read_parquet('${input}') EXCEPT ALL SELECT info, amount, seen_at, row_number() OVER () FROM read_parquet('${output}'))`,
    );
    expect(differ.rows[0].n).toBe(0n);
    expect(out.rows.filter((r) => r.amount === null)).toHaveLength(Math.ceil(3000 / 7));
  });

  it('refuses a file without a model column, naming it, before scoring anything', async () => {
    const input = await writeParquet(join(dir, 'no-b.parquet'), rows, 'b');
    const output = join(dir, 'missing', 'scores.parquet');
    const events: ProgressEvent[] = [];
    const err = await rejection(
      scoreDataset({ registry, model: uri, input, output, progress: (e) => events.push(e) }),
    );
    expect(err.code).toBe('INVALID_PARAMETER_VALUE');
    expect(err.message).toContain("lacks the model's column 'b'");
    expect(events).toEqual([]);
    expect(existsSync(output)).toBe(false);
    expect(readdirSync(join(dir, 'missing'))).toEqual([]);
  });

  it('stops at a value that is not a number, names it, and leaves the previous output untouched', async () => {
    const input = writeCsv(join(dir, 'bad.csv'), rows);
    // Row 4,001, well after the first chunks were scored and written, holds 'abc' in column a.
    const lines = readFileSync(input, 'utf8').split('\n');
    const cells = lines[4001].split(',');
    cells[3] = 'abc';
    lines[4001] = cells.join(',');
    writeFileSync(input, lines.join('\n'));
    const output = join(dir, 'kept', 'scores.parquet');
    const first = await rejection(scoreDataset({ registry, model: uri, input, output, chunkRows: 100 }));
    expect(first.code).toBe('DATA_VALIDATION_FAILED');
    expect(first.message).toBe(`column 'a', row 4001 of '${input}': "abc" is not a number`);
    expect(existsSync(output)).toBe(false);
    writeFileSync(output, 'previous');
    await rejection(scoreDataset({ registry, model: uri, input, output, chunkRows: 100 }));
    expect(readdirSync(join(dir, 'kept'))).toEqual(['scores.parquet']);
    expect(readFileSync(output, 'utf8')).toBe('previous');
  });

  it('scores a range of rows of a Parquet file; a bad value is named by its row in the file', async () => {
    const input = await writeParquet(join(dir, 'range.parquet'), rows);
    const out = join(dir, 'range-scores.parquet');
    const result = await scoreDataset({
      registry,
      model: uri,
      input,
      output: out,
      keep: ['id'],
      rows: { first: 1500, count: 1200 },
    });
    expect(result.rows).toBe(1200);
    const scored = await readParquet(out);
    expect(scored.rows.map((r) => Number(r.id))).toEqual(rows.id.slice(1500, 2700));
    expect(
      maxDiff(
        scored.rows.map((r) => Number(r.score)),
        expected.subarray(1500, 2700),
      ),
    ).toBeLessThan(FLOAT32);
    // 'note' fed to a numeric column: the first row of the range is row 1,501 of the file.
    const bad = await rejection(
      scoreDataset({
        registry,
        model: uri,
        input,
        output: out,
        columns: ['a', 'colour', 'note'],
        rows: { first: 1500, count: 10 },
        inputName: 'rows.csv',
      }),
    );
    expect(bad.message).toBe(`column 'note', row 1501 of 'rows.csv': "n1500" is not a number`);
    const csv = await rejection(
      scoreDataset({
        registry,
        model: uri,
        input: writeCsv(join(dir, 'range.csv'), rows),
        output: out,
        rows: { first: 0, count: 1 },
      }),
    );
    expect(csv.message).toMatch(/takes a Parquet input/);
  });

  it('answers an unknown model, a missing kept column and a clashing one precisely', async () => {
    const input = await writeParquet(join(dir, 'small.parquet'), scoringRows(10, 3));
    const output = join(dir, 'small-scores.parquet');
    const unknown = await rejection(scoreDataset({ registry, model: 'models:/nope/1', input, output }));
    expect(unknown.code).toBe('RESOURCE_DOES_NOT_EXIST');
    const alias = await rejection(scoreDataset({ registry, model: 'models:/churn@nope', input, output }));
    expect(alias.code).toBe('RESOURCE_DOES_NOT_EXIST');
    const keep = await rejection(scoreDataset({ registry, model: uri, input, output, keep: ['customer'] }));
    expect(keep.message).toContain("has no column 'customer' to keep");
    const clash = await rejection(scoreDataset({ registry, model: uri, input, output, keep: ['score'] }));
    expect(clash.message).toContain('keep: cannot name an output column');
    const notParquet = await rejection(
      scoreDataset({ registry, model: uri, input, output: join(dir, 'x.csv') }),
    );
    expect(notParquet.message).toContain('output: must name a .parquet file');
    expect(existsSync(output)).toBe(false);
  });

  it('writes an empty file with the output columns for an empty input', async () => {
    const input = await writeParquet(join(dir, 'empty.parquet'), scoringRows(0, 4));
    const result = await scoreDataset({
      registry,
      model: uri,
      input,
      output: join(dir, 'empty-scores.parquet'),
      keep: ['id'],
    });
    expect(result.rows).toBe(0);
    const out = await readParquet(result.output);
    expect(out.columns).toEqual(['id', 'score', 'model_name', 'model_version']);
    expect(out.rows).toEqual([]);
  });

  it('joins the features of entity rows point in time from the offline store, then scores them', async () => {
    const home = tempDir();
    const { definitions, entities, expected: rowsUsed } = customerSnapshots(home);
    const store = storeWith(home, definitions);
    await registerModel(registry, model, dir, 'churn_online', CUSTOMER_FEATURES);
    try {
      const result = await scoreDataset({
        registry,
        model: 'models:/churn_online/1',
        input: entities,
        output: join(home, 'scores.parquet'),
        keep: ['request', 'customer_id'],
        features: store,
      });
      const out = await readParquet(result.output);
      expect(out.rows.map((r) => [r.request, Number(r.customer_id)])).toEqual([
        ['r1', 3],
        ['r2', 3],
        ['r3', 7],
      ]);
      const want = predictGbdt(model, featureMatrix(rowsUsed));
      expect(
        maxDiff(
          out.rows.map((r) => r.score as number),
          want,
        ),
      ).toBeLessThan(FLOAT32);
      // The joined features were a temporary file beside the output, removed since.
      expect(readdirSync(home).sort()).toEqual(['.keel', 'customers.csv', 'entities.csv', 'scores.parquet']);

      const plain = await rejection(
        scoreDataset({
          registry,
          model: uri,
          input: entities,
          output: join(home, 'x.parquet'),
          features: store,
        }),
      );
      expect(plain.code).toBe('FAILED_PRECONDITION');
    } finally {
      await store.close();
    }
  });
});
