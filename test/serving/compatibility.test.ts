/**
 * Whether a version can take over the requests another serves, on real registered versions loaded
 * in ONNX Runtime: the seed's GBDT over `a, colour, b` (colour a category) against versions that
 * drop the feature references, reorder the columns, recode the categories, need another column,
 * or are fed by position only.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportOnnx, type GbdtModel, META_CATEGORIES, trainGbdt } from '../../src/ml/index.js';
import type { Registry } from '../../src/registry/index.js';
import { servingConflicts } from '../../src/serving/compatibility.js';
import { ServingModel } from '../../src/serving/index.js';
import { writeLogisticModel } from '../helpers/onnx.js';
import { openTestRegistry } from '../helpers/registry.js';
import { tempDir } from '../helpers/temp.js';
import { COLOURS, CUSTOMER_FEATURES, featureMatrix, scoringRows, trainModel } from './fixtures.js';

let registry: Registry;
let cleanup: () => Promise<void>;
const models = new Map<string, ServingModel>();

/** Registers `bytes` as the next version of churn with `features`, and loads it as `key`. */
async function add(key: string, bytes: Uint8Array | string, features?: string[]): Promise<void> {
  const file = typeof bytes === 'string' ? bytes : join(tempDir(), 'model.onnx');
  if (typeof bytes !== 'string') writeFileSync(file, bytes);
  const { version } = await registry.versions.create({ name: 'churn', source: file, features });
  models.set(key, await ServingModel.load(registry, `models:/churn/${version}`));
}

const categories = (colours: string[]) => ({
  metadata: { [META_CATEGORIES]: JSON.stringify({ colour: colours }) },
});

/** The fixture's GBDT trained with its columns in `order` (a column `c` holds b's values). */
function trainedIn(order: string[]): GbdtModel {
  const rows = scoringRows(2000, 3);
  const x = featureMatrix(rows);
  return trainGbdt(
    { names: order, columns: order.map((n) => x.columns[x.names.indexOf(n === 'c' ? 'b' : n)]) },
    rows.y,
    { iterations: 5, maxLeaves: 4 },
    { categorical: ['colour'] },
  );
}

beforeAll(async () => {
  ({ registry, cleanup } = await openTestRegistry('sqlite'));
  await registry.models.create('churn');
  const gbdt = trainModel();
  await add('served', exportOnnx(gbdt, categories(COLOURS)), CUSTOMER_FEATURES);
  await add('same', exportOnnx(trainedIn(['a', 'colour', 'b']), categories(COLOURS)), CUSTOMER_FEATURES);
  await add('no refs', exportOnnx(gbdt, categories(COLOURS)));
  await add('reordered', exportOnnx(trainedIn(['b', 'colour', 'a']), categories(COLOURS)), [
    'customer_stats:b',
    'customer_stats:colour',
    'customer_stats:a',
  ]);
  await add('recoded', exportOnnx(gbdt, categories(['red', 'green', 'blue'])), CUSTOMER_FEATURES);
  await add('more colours', exportOnnx(gbdt, categories([...COLOURS, 'purple'])), CUSTOMER_FEATURES);
  await add('other column', exportOnnx(trainedIn(['a', 'colour', 'c']), categories(COLOURS)), [
    'customer_stats:a',
    'customer_stats:colour',
    'customer_stats:c',
  ]);
  await add('positional', writeLogisticModel(tempDir()));
});
afterAll(async () => {
  for (const m of models.values()) await m.release();
  await cleanup();
});

const conflicts = (next: string, lookups = true, sameCodes = false) =>
  servingConflicts(models.get('served') as ServingModel, models.get(next) as ServingModel, {
    lookups,
    sameCodes,
  });

describe('servingConflicts', () => {
  it('lets a retrained version with the same columns, codes and feature references take over', () => {
    expect(conflicts('same')).toEqual([]);
    // A replacement encodes its own requests: categories recoded by a retraining are its business.
    expect(conflicts('more colours')).toEqual([]);
    expect(conflicts('recoded')).toEqual([]);
  });

  it('refuses a version with no feature references while /predict looks them up, and only then', () => {
    expect(conflicts('no refs')).toEqual([
      'it names no features to look up, while version 1 serves /predict by entity keys (customer_stats:a, customer_stats:colour, customer_stats:b)',
    ]);
    expect(conflicts('no refs', false)).toEqual([]);
  });

  it('refuses columns in another order and a column callers do not send; for a shadow, categories coded otherwise', () => {
    expect(conflicts('reordered')).toEqual([
      'it takes its columns in another order than version 1 (b, colour, a against a, colour, b): rows and tensors sent by position would be misread',
    ]);
    expect(conflicts('recoded', true, true)).toEqual([
      "column 'colour' codes its categories otherwise than version 1, whose encoded rows it would take",
    ]);
    // New categories after the known ones keep every code of the primary's rows.
    expect(conflicts('more colours', true, true)).toEqual([]);
    expect(conflicts('other column')).toEqual([
      'it looks up other features than version 1: adds customer_stats:c; drops customer_stats:b',
      'it needs columns that callers of version 1 do not send: c',
    ]);
  });

  it('refuses a version fed by position only in place of one fed by name', () => {
    expect(conflicts('positional')).toEqual([
      'it names no features to look up, while version 1 serves /predict by entity keys (customer_stats:a, customer_stats:colour, customer_stats:b)',
      'it takes its inputs by position only, while callers of version 1 send columns by name (a, colour, b)',
    ]);
  });
});
