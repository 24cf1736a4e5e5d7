/**
 * The prediction log on real DuckDB and Parquet: rows land in one file per model and UTC day with
 * their inputs, a failed write keeps the rows buffered without throwing at the caller, the buffer
 * bound drops the oldest rows and counts them, and labels join by request id and row.
 */
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { queryRows, withDuckDB } from '../../src/data/index.js';
import {
  inputColumn,
  inputName,
  type PredictionEntry,
  PredictionLog,
  predictionsSql,
  readPredictions,
  summarizePredictions,
} from '../../src/monitoring/index.js';
import { tempDir } from '../helpers/temp.js';

const DAY1 = Date.UTC(2024, 4, 1, 23, 59, 0);
const DAY2 = Date.UTC(2024, 4, 2, 0, 1, 0);

const encoded = (
  requestId: string,
  timestamp: number,
  rows: number[][],
  extra: Partial<PredictionEntry> = {},
) =>
  ({
    timestamp,
    requestId,
    model: 'churn',
    version: '1',
    canary: false,
    latencyMs: 1.5,
    scores: rows.map((r) => r[0] / 100),
    inputs: { columns: ['tenure', 'orders'], values: Float32Array.from(rows.flat()) },
    ...extra,
  }) satisfies PredictionEntry;

describe('PredictionLog', () => {
  const logs: PredictionLog[] = [];
  const open = (home: string, options: Partial<ConstructorParameters<typeof PredictionLog>[0]> = {}) => {
    const log = new PredictionLog({ home, flushIntervalMs: 60_000, ...options });
    logs.push(log);
    return log;
  };
  afterEach(async () => {
    for (const log of logs.splice(0)) await log.close();
  });

  it('writes one Parquet file per model and day, with inputs, scores, canary and shadow flags', async () => {
    const home = tempDir();
    const log = open(home);
    log.append(
      encoded('r1', DAY1, [
        [3.3, 1],
        [25, Number.NaN],
      ]),
    );
    log.append(encoded('r2', DAY2, [[7, 2]], { version: '2', canary: true, latencyMs: 4 }));
    log.append({
      timestamp: DAY2,
      requestId: 'r3',
      model: 'fraud',
      version: '5',
      canary: false,
      shadow: true,
      latencyMs: 2,
      scores: Float64Array.of(0.25, 0.75),
      inputs: {
        keys: { customer_id: ['c-1', 'c-2'] },
        byColumn: new Map<string, unknown[]>([
          ['amount', [12.5, null]],
          ['country', ['FR', 'DE']],
          ['score', [9, 8]],
          // Named like the log column a prefixed input is stored as: stored apart, not over it.
          ['input_score', [1, 2]],
        ]),
      },
    });
    const written = await log.flush();
    expect(written.rows).toBe(5);
    expect(written.files.map((f) => f.slice(home.length))).toEqual([
      expect.stringMatching(/^\/predictions\/churn\/date=2024-05-01\/part-\d+-[0-9a-f]+\.parquet$/),
      expect.stringMatching(/^\/predictions\/churn\/date=2024-05-02\/part-/),
      expect.stringMatching(/^\/predictions\/fraud\/date=2024-05-02\/part-/),
    ]);
    // No hidden temporary file is left beside a partition.
    for (const f of written.files) expect(readdirSync(join(f, '..'))).toEqual([f.split('/').pop()]);

    const churn = await readPredictions({ home, model: 'churn' });
    expect(churn).toEqual([
      {
        timestamp: DAY1,
        requestId: 'r1',
        model: 'churn',
        version: '1',
        canary: false,
        shadow: false,
        row: 0,
        score: 0.033,
        latencyMs: 1.5,
        features: { tenure: Math.fround(3.3), orders: 1 },
      },
      expect.objectContaining({ requestId: 'r1', row: 1, features: { tenure: 25, orders: null } }),
      expect.objectContaining({ requestId: 'r2', version: '2', canary: true, row: 0, latencyMs: 4 }),
    ]);
    const fraud = await readPredictions({ home, model: 'fraud' });
    expect(fraud.map((p) => [p.score, p.shadow, p.features])).toEqual([
      [0.25, true, { customer_id: 'c-1', amount: 12.5, country: 'FR', input_score: 9, input_input_score: 1 }],
      [0.75, true, { customer_id: 'c-2', amount: null, country: 'DE', input_score: 8, input_input_score: 2 }],
    ]);
    // The time window prunes by day and filters by time; outside it the relation is empty, not missing.
    expect((await readPredictions({ home, model: 'churn', from: DAY2 })).map((p) => p.requestId)).toEqual([
      'r2',
    ]);
    expect(await readPredictions({ home, model: 'churn', to: DAY1 })).toEqual([]);
    expect(await readPredictions({ home, model: 'churn', from: DAY2 + 1 })).toEqual([]);
    expect(() => predictionsSql({ home, model: 'nope' })).toThrow(/no predictions of model 'nope'/);
    expect(await summarizePredictions({ home, model: 'churn' })).toEqual([
      { version: '1', rows: 2, requests: 1, canaryRows: 0, first: DAY1, last: DAY1 },
      { version: '2', rows: 1, requests: 1, canaryRows: 1, first: DAY2, last: DAY2 },
    ]);
    expect((await readPredictions({ home, model: 'churn', last: 1 })).map((p) => p.requestId)).toEqual([
      'r2',
    ]);
    expect(log.stats()).toMatchObject({ bufferedRows: 0, writtenRows: 5, droppedRows: 0, failedFlushes: 0 });
  });

  it('writes on its own once flushRows rows wait, and at close', async () => {
    const home = tempDir();
    const log = open(home, { flushRows: 3 });
    log.append(
      encoded('a', DAY1, [
        [1, 1],
        [2, 2],
      ]),
    );
    expect(log.stats().writtenRows).toBe(0);
    log.append(encoded('b', DAY1, [[3, 3]]));
    await expect.poll(() => log.stats().writtenRows).toBe(3);
    log.append(encoded('c', DAY1, [[4, 4]]));
    await log.close();
    expect((await readPredictions({ home, model: 'churn' })).map((p) => p.requestId)).toEqual([
      'a',
      'a',
      'b',
      'c',
    ]);
    log.append(encoded('late', DAY1, [[5, 5]]));
    expect(log.stats()).toMatchObject({ writtenRows: 4, droppedRows: 1, bufferedRows: 0 });
  });

  it('cuts a large write into files of at most 50,000 rows, whole requests each, every row written once', async () => {
    const home = tempDir();
    const log = open(home, { flushRows: 1_000_000 });
    const rows = Array.from({ length: 100 }, (_, r) => [r, r % 7]);
    for (let i = 0; i < 1_201; i++) log.append(encoded(`q${i}`, DAY1 + i, rows));
    const written = await log.flush();
    expect(written.rows).toBe(120_100);
    const counts = await withDuckDB((conn) =>
      Promise.all(
        written.files.map(async (f) => (await queryRows(conn, `SELECT count(*) AS n FROM '${f}'`))[0].n),
      ),
    );
    expect(counts).toEqual([50_000, 50_000, 20_100]);
    const [all] = await withDuckDB((conn) =>
      queryRows(
        conn,
        `SELECT count(*) AS n, count(DISTINCT request_id) AS requests, sum("row") AS rows, sum(orders) AS orders
           FROM (${predictionsSql({ home, model: 'churn' })})`,
      ),
    );
    expect(all).toEqual({ n: 120_100, requests: 1_201, rows: 1_201 * 4_950, orders: 1_201 * 295 });
  });

  it('spaces the writes rows start by a quarter second, unless the buffer is half full', async () => {
    const home = tempDir();
    const log = open(home, { flushRows: 2, maxBufferRows: 10 });
    // The writer thread is started first, so the writes below take what writes take.
    log.append(encoded('warm', DAY1, [[0, 0]]));
    await log.flush();
    const started = Date.now();
    log.append(encoded('a', DAY1, [[1, 1]]));
    log.append(encoded('b', DAY1, [[2, 2]]));
    await expect.poll(() => log.stats().writtenRows).toBe(3);
    // Enough rows again at once: the write waits out the gap since the last one started, so
    // both writes (a few ms each) end no sooner than a quarter second after the first began.
    log.append(encoded('c', DAY1, [[3, 3]]));
    log.append(encoded('d', DAY1, [[4, 4]]));
    await expect.poll(() => log.stats().writtenRows).toBe(5);
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    // Half the buffer's bound waiting: written at once, gap or not. Eleven rows in a quarter
    // second would overflow a bound of 10 if the writes waited for the gap.
    for (let i = 0; i < 11; i++) {
      log.append(encoded(`e${i}`, DAY1, [[5, 5]]));
      await new Promise((resolve) => setImmediate(resolve));
    }
    await expect.poll(() => log.stats().writtenRows).toBe(16);
    expect(log.stats()).toMatchObject({ droppedRows: 0, bufferedRows: 0 });
  });

  it('keeps rows buffered when a write fails, drops the oldest past the bound, and writes them once it can', async () => {
    const root = tempDir();
    // A file where the home's folder should be: every write fails, whoever runs the test (root too).
    const home = join(root, 'home');
    writeFileSync(home, 'not a folder');
    const warnings: Array<Record<string, unknown>> = [];
    const logger = pino(
      { level: 'warn' },
      { write: (line: string) => void warnings.push(JSON.parse(line) as Record<string, unknown>) },
    );
    const log = open(home, { maxBufferRows: 5, logger });
    for (let i = 0; i < 4; i++) log.append(encoded(`r${i}`, DAY1, [[i, i]]));
    await expect(log.flush()).rejects.toThrow();
    expect(log.stats()).toMatchObject({ bufferedRows: 4, droppedRows: 0, failedFlushes: 1, writtenRows: 0 });
    // Appending never throws, even now; the bound drops whole requests, oldest first.
    for (let i = 4; i < 8; i++) log.append(encoded(`r${i}`, DAY1, [[i, i]]));
    expect(log.stats()).toMatchObject({ bufferedRows: 5, droppedRows: 3 });
    // The first drop is warned about at once; the next ones are summed up in a later warning.
    const drops = () => warnings.filter((w) => String(w.msg).startsWith('the prediction log dropped rows'));
    expect(drops()).toEqual([
      expect.objectContaining({ level: 40, dropped: 1, droppedTotal: 1, maxBufferRows: 5 }),
    ]);
    await expect(log.flush()).rejects.toThrow();
    expect(log.stats()).toMatchObject({ bufferedRows: 5, droppedRows: 3, failedFlushes: 2 });

    rmSync(home);
    mkdirSync(home);
    expect((await log.flush()).rows).toBe(5);
    expect((await readPredictions({ home, model: 'churn' })).map((p) => p.requestId)).toEqual([
      'r3',
      'r4',
      'r5',
      'r6',
      'r7',
    ]);
    expect(log.stats()).toMatchObject({ bufferedRows: 0, droppedRows: 3, writtenRows: 5, failedFlushes: 2 });
    await log.close();
    expect(drops().map((w) => [w.dropped, w.droppedTotal])).toEqual([
      [1, 1],
      [2, 3],
    ]);
  });

  it('joins ground-truth labels by request id and row, the latest label winning', async () => {
    const home = tempDir();
    const log = open(home);
    log.append(
      encoded('a', DAY1, [
        [1, 1],
        [2, 2],
      ]),
    );
    log.append(encoded('b', DAY1, [[3, 3]]));
    // No label files yet: the label column is there, all null.
    await log.flush();
    expect((await readPredictions({ home, model: 'churn', labels: true })).map((p) => p.label)).toEqual([
      null,
      null,
      null,
    ]);
    log.recordFeedback([
      { timestamp: DAY2, requestId: 'a', label: 1 },
      { timestamp: DAY2, requestId: 'a', row: 1, label: 0 },
      { timestamp: DAY2, requestId: 'zz', label: 1 },
    ]);
    expect((await log.flush()).labels).toBe(3);
    log.recordFeedback([{ timestamp: DAY2 + 1000, requestId: 'a', row: 1, label: 1 }]);
    await log.flush();
    expect(existsSync(join(home, 'feedback', 'date=2024-05-02'))).toBe(true);
    const rows = await readPredictions({ home, model: 'churn', labels: true });
    expect(rows.map((p) => [p.requestId, p.row, p.label])).toEqual([
      ['a', 0, 1],
      ['a', 1, 1],
      ['b', 0, null],
    ]);
    // Without `labels` there is no label field.
    expect((await readPredictions({ home, model: 'churn' }))[0]).not.toHaveProperty('label');
  });

  it('stores every input in a column of its own, and reads each name back', () => {
    const names = ['tenure', 'score', 'input_score', 'input_input_score', 'label', 'input_label', 'input_x'];
    const stored = names.map(inputColumn);
    expect(stored).toEqual([
      'tenure',
      'input_score',
      'input_input_score',
      'input_input_input_score',
      'input_label',
      'input_input_label',
      'input_x',
    ]);
    expect(new Set(stored).size).toBe(names.length);
    expect(stored.map(inputName)).toEqual(names);
  });

  it('refuses bad options by name', () => {
    expect(() => new PredictionLog({ home: tempDir(), flushRows: 0 })).toThrow(/flushRows/);
  });
});
