/**
 * Realised performance over a real prediction log and its feedback on DuckDB and Parquet: metrics
 * equal `classificationMetrics` / `regressionSummary` on the same joined rows, chunks by UTC day and
 * by labelled rows, label coverage, a one-class chunk with a null AUC, threshold breaches, and the
 * errors for a model or window with no predictions.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import {
  classificationMetrics,
  confusionMatrix,
  logLoss,
  regressionSummary,
  thresholdMetrics,
} from '../../src/ml/index.js';
import { realisedPerformance } from '../../src/monitoring/index.js';
import { tempDir } from '../helpers/temp.js';
import { DAY1, DAY2, labelledRows, writePerformanceLog } from './performance-log.js';

const DAY = 86_400_000;
const dayStart = (ms: number) => ms - (ms % DAY);
const binary = (m: Record<string, number | null>) => ({
  roc_auc: m.roc_auc ?? null,
  average_precision: m.average_precision ?? null,
  log_loss: m.log_loss,
  brier: m.brier,
  accuracy: m.accuracy,
  precision: m.precision,
  recall: m.recall,
  f1: m.f1,
});
const metricsOf = (ids: string[], from?: number, to?: number) => {
  const { y, p } = labelledRows(ids, from, to);
  return binary(classificationMetrics(y, p, 0.5).metrics);
};

describe('realisedPerformance', () => {
  const home = tempDir();
  beforeAll(() => writePerformanceLog(home));

  it('measures each version per UTC day and over the window, with label coverage', async () => {
    const result = await realisedPerformance({ home, model: 'churn', chunk: { period: 'day' } });
    expect(result.task).toBe('binary');
    expect(result.passed).toBe(true);
    expect(result.versions.map((v) => v.version)).toEqual(['1', '2']);
    const [v1, v2] = result.versions;
    expect(v1.chunks.map((c) => [c.index, c.start, c.end, c.logged, c.labelled, c.coverage])).toEqual([
      [0, dayStart(DAY1), dayStart(DAY1) + DAY, 8, 6, 0.75],
      [1, dayStart(DAY2), dayStart(DAY2) + DAY, 4, 4, 1],
    ]);
    expect(v1.chunks[0].metrics).toEqual(metricsOf(['d1']));
    expect(v1.chunks[0].notes).toEqual([]);
    // Day 2's labels are all 1: no AUC, but the other metrics are defined (average precision is
    // 1, as scikit-learn gives it without negatives).
    const { y, p } = labelledRows(['d2']);
    expect(v1.chunks[1].metrics).toEqual({
      roc_auc: null,
      average_precision: 1,
      log_loss: logLoss(y, p),
      brier: expect.closeTo((0.3 ** 2 + 0.6 ** 2 + 0.4 ** 2 + 0.8 ** 2) / 4, 12),
      ...thresholdMetrics(confusionMatrix(y, p, 0.5)),
    });
    expect(v1.chunks[1].metrics.recall).toBe(0.5);
    expect(v1.chunks[1].notes).toEqual(['roc_auc is undefined: every label is 1 (one class only)']);
    expect(v1.overall).toMatchObject({ logged: 12, labelled: 10, coverage: 10 / 12, start: dayStart(DAY1) });
    expect(v1.overall.metrics).toEqual(metricsOf(['d1', 'd2']));
    expect(v2.chunks).toHaveLength(1);
    expect(v2.overall.metrics).toEqual(metricsOf(['v2']));
  });

  it('chunks by N labelled rows in time order, unlabelled rows joining the next chunk', async () => {
    const result = await realisedPerformance({ home, model: 'churn', chunk: { rows: 4 } });
    const v1 = result.versions[0];
    expect(v1.chunks.map((c) => [c.start, c.end, c.logged, c.labelled])).toEqual([
      [DAY1, DAY1, 4, 4],
      [DAY1, DAY2, 6, 4],
      [DAY2, DAY2, 2, 2],
    ]);
    expect(v1.chunks[0].metrics).toEqual(metricsOf(['d1', 'd2'], 0, 4));
    expect(v1.chunks[1].metrics).toEqual(metricsOf(['d1', 'd2'], 4, 8));
    expect(v1.chunks[2].metrics.roc_auc).toBeNull();
  });

  it('flags the chunks breaking a threshold, judging no null metric', async () => {
    const auc = metricsOf(['d1']).roc_auc as number;
    const result = await realisedPerformance({
      home,
      model: 'churn',
      chunk: { period: 'day' },
      thresholds: [
        { metric: 'roc_auc', min: auc + 0.01 },
        { metric: 'coverage', min: 0.8 },
      ],
    });
    expect(result.passed).toBe(false);
    const [v1, v2] = result.versions;
    expect(v1.chunks[0].breaches).toEqual([
      { metric: 'roc_auc', value: auc, min: auc + 0.01 },
      { metric: 'coverage', value: 0.75, min: 0.8 },
    ]);
    expect(v1.chunks[1].breaches).toEqual([]);
    expect(v2.chunks[0].breaches).toEqual([]);
    await expect(
      realisedPerformance({
        home,
        model: 'churn',
        chunk: { rows: 2 },
        thresholds: [{ metric: 'auc', min: 0.5 }],
      }),
    ).rejects.toMatchObject({
      code: 'INVALID_PARAMETER_VALUE',
      message: expect.stringMatching(/'auc' is not one of roc_auc/),
    });
  });

  it('takes real-valued labels as regression, and refuses them as binary', async () => {
    const result = await realisedPerformance({ home, model: 'price', chunk: { period: 'hour' } });
    expect(result.task).toBe('regression');
    expect(result.versions[0].overall.metrics).toEqual(regressionSummary([12, 18, 30], [10, 20, 31]).metrics);
    await expect(
      realisedPerformance({ home, model: 'price', chunk: { period: 'day' }, task: 'binary' }),
    ).rejects.toMatchObject({
      code: 'INVALID_PARAMETER_VALUE',
      message: expect.stringMatching(/has label 12 \(request 'p1', row 0\)/),
    });
  });

  it('says clearly when there is nothing to measure', async () => {
    await expect(
      realisedPerformance({ home, model: 'fraud', chunk: { period: 'day' } }),
    ).rejects.toMatchObject({
      code: 'RESOURCE_DOES_NOT_EXIST',
      message: expect.stringMatching(/no predictions of model 'fraud'/),
    });
    await expect(
      realisedPerformance({ home, model: 'churn', chunk: { period: 'day' }, from: DAY2 + DAY }),
    ).rejects.toMatchObject({ code: 'RESOURCE_DOES_NOT_EXIST' });
    await expect(realisedPerformance({ home, model: 'churn', chunk: { rows: 0 } })).rejects.toMatchObject({
      code: 'INVALID_PARAMETER_VALUE',
      message: expect.stringMatching(/chunk/),
    });
  });
});
