/**
 * `keel predictions show` and `keel predictions performance` as a user runs them, as a child
 * process over a project whose prediction log was written by the library: counts per version (the
 * canary's too), the latest rows with their labels, `--since`; realised performance per chunk,
 * exit 7 on a broken bound; and the exit codes of bad flags and of a model never logged.
 */
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseBounds, parseSince } from '../../../src/cli/commands/predictions.js';
import { classificationMetrics } from '../../../src/ml/index.js';
import { PredictionLog } from '../../../src/monitoring/index.js';
import { keel } from '../../helpers/cli.js';
import { tempDir } from '../../helpers/temp.js';
import { labelledRows, writePerformanceLog } from '../../monitoring/performance-log.js';

describe('keel predictions show', () => {
  const cwd = tempDir();
  const now = Date.now();

  beforeAll(async () => {
    const log = new PredictionLog({ home: join(cwd, '.keel') });
    const entry = (requestId: string, version: string, ageMs: number, rows: number) => ({
      timestamp: now - ageMs,
      requestId,
      model: 'churn',
      version,
      canary: version === '2',
      latencyMs: 1.25,
      scores: Array.from({ length: rows }, (_, i) => 0.1 * (i + 1)),
      inputs: { columns: ['tenure'], values: new Float32Array(rows).fill(3) },
    });
    log.append(entry('old', '1', 3 * 3_600_000, 3));
    log.append(entry('a', '1', 60_000, 1));
    log.append(entry('b', '2', 30_000, 2));
    log.recordFeedback([{ timestamp: now, requestId: 'b', row: 1, label: 1 }]);
    await log.close();
  });

  it('prints rows and requests per version and the latest rows, as JSON', async () => {
    const res = await keel(['predictions', 'show', '--model', 'churn', '--last', '2', '--json'], { cwd });
    expect(res.code, res.stderr).toBe(0);
    const out = JSON.parse(res.stdout);
    expect(out.versions).toEqual([
      { version: '1', rows: 4, requests: 2, canaryRows: 0, first: now - 3 * 3_600_000, last: now - 60_000 },
      { version: '2', rows: 2, requests: 1, canaryRows: 2, first: now - 30_000, last: now - 30_000 },
    ]);
    expect(
      out.latest.map((p: { requestId: string; row: number; label: number | null }) => [
        p.requestId,
        p.row,
        p.label,
      ]),
    ).toEqual([
      ['b', 0, null],
      ['b', 1, 1],
    ]);
  });

  it('prints tables, and only the window --since asks for', async () => {
    const res = await keel(['predictions', 'show', '--model', 'churn', '--since', '2h'], { cwd });
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toMatch(/^churn: 3 rows logged\n/);
    expect(res.stdout).toMatch(/^1\s+1\s+1\s+0\s/m);
    expect(res.stdout).toMatch(/^2\s+2\s+1\s+2\s/m);
    expect(res.stdout).toMatch(/latest 3 rows:/);
    expect(res.stdout).not.toMatch(/ old /);
  });

  it('exits 2 for a bad time and 4 for a model never logged', async () => {
    const bad = await keel(['predictions', 'show', '--model', 'churn', '--since', 'yesterday'], { cwd });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--since must be an ISO date or time/);
    const none = await keel(['predictions', 'show', '--model', 'fraud'], { cwd });
    expect(none.code).toBe(4);
    expect(none.stderr).toMatch(/no predictions of model 'fraud' are logged under /);
  });

  it('reads durations back from now and ISO times', async () => {
    expect(parseSince('--since', '90m', 10_000_000)).toBe(10_000_000 - 5_400_000);
    expect(parseSince('--since', '2024-05-01')).toBe(Date.UTC(2024, 4, 1));
  });
});

describe('keel predictions performance', () => {
  const cwd = tempDir();
  beforeAll(() => writePerformanceLog(join(cwd, '.keel')));

  it('prints metrics per version and day as JSON, equal to the evaluation metrics', async () => {
    const res = await keel(['predictions', 'performance', '--model', 'churn', '--json'], { cwd });
    expect(res.code, res.stderr).toBe(0);
    const out = JSON.parse(res.stdout);
    expect(out.chunk).toEqual({ period: 'day' });
    const { y, p } = labelledRows(['d1']);
    expect(out.versions[0].chunks[0]).toMatchObject({ logged: 8, labelled: 6, coverage: 0.75 });
    expect(out.versions[0].chunks[0].metrics.roc_auc).toBe(classificationMetrics(y, p).metrics.roc_auc);
    expect(out.versions[0].chunks[1].metrics.roc_auc).toBeNull();
  });

  it('prints a table per version, and exits 7 naming the chunks that break a bound', async () => {
    const ok = await keel(['predictions', 'performance', '--model', 'churn', '--chunk-rows', '4'], { cwd });
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/chunks of 4 labelled rows/);
    expect(ok.stdout).toMatch(/^version 1:$/m);
    expect(ok.stdout).toMatch(/^1\s+2024-05-01 \S+\s+6\s+4\s+66\.7%/m);
    expect(ok.stdout).toMatch(/^all\s+2024-05-01 \S+\s+12\s+10\s+83\.3%/m);
    expect(ok.stdout).toMatch(/^chunk 2: roc_auc is undefined: every label is 1 \(one class only\)$/m);
    const broken = await keel(
      ['predictions', 'performance', '--model', 'churn', '--min', 'coverage=0.8', '--max', 'log_loss=5'],
      { cwd },
    );
    expect(broken.code).toBe(7);
    expect(broken.stderr).toMatch(/breaks a threshold in 1 chunk\(s\) \(version\/chunk: 1\/0\)/);
    expect(broken.stderr).toMatch(/coverage 0\.7500 < 0\.8/);
  });

  it('exits 2 for bad flags and 4 for a model never logged', async () => {
    const cases: [string[], RegExp][] = [
      [['--min', 'roc_auc'], /--min must be metric=number \(roc_auc=0\.7\); got 'roc_auc'/],
      [['--min', 'auc=0.7'], /threshold metric 'auc' is not one of roc_auc/],
      [['--chunk', 'week'], /--chunk must be day or hour; got 'week'/],
      [['--chunk', 'day', '--chunk-rows', '5'], /give --chunk or --chunk-rows, not both/],
      [['--chunk-rows', '0'], /--chunk-rows must be at least 1; got 0/],
      [['--task', 'multiclass'], /--task must be binary or regression/],
    ];
    for (const [flags, message] of cases) {
      const res = await keel(['predictions', 'performance', '--model', 'churn', ...flags], { cwd });
      expect(res.code, flags.join(' ')).toBe(2);
      expect(res.stderr).toMatch(message);
    }
    const none = await keel(['predictions', 'performance', '--model', 'fraud'], { cwd });
    expect(none.code).toBe(4);
    expect(none.stderr).toMatch(/no predictions of model 'fraud' are logged under /);
  });

  it('reads --min and --max into one bound per metric', async () => {
    expect(parseBounds(['roc_auc=0.7', 'coverage=0.5'], ['roc_auc=0.99'])).toEqual([
      { metric: 'roc_auc', min: 0.7, max: 0.99 },
      { metric: 'coverage', min: 0.5 },
    ]);
  });
});
