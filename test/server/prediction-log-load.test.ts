/**
 * The prediction log under sustained load over a real loopback server: 8 clients send 2,000
 * requests of 100 rows each to `/invocations` (bounded by that count, not by time), as fast as the
 * server answers, while the log writes in the background with a buffer of 100,000 rows (half the
 * rows sent). Afterwards the Parquet log holds exactly the answered rows, each request's 100 under
 * the id its response carried, and nothing was dropped.
 */
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryRows, withDuckDB } from '../../src/data/index.js';
import { PredictionLog, predictionsSql } from '../../src/monitoring/index.js';
import { ModelServer } from '../../src/serving/index.js';
import { listenServing, type ServingApp } from '../helpers/server.js';
import { COLUMNS, type ServedWorld, servedWorld } from '../helpers/serving.js';
import { tempDir } from '../helpers/temp.js';

const REQUESTS = 2000;
const ROWS = 100;
const CLIENTS = 8;

describe('prediction log under sustained load', () => {
  let world: ServedWorld;
  let serving: ModelServer;
  let log: PredictionLog;
  let served: ServingApp;
  let base: string;
  let home: string;
  const warnings: Array<Record<string, unknown>> = [];

  beforeAll(async () => {
    world = await servedWorld();
    serving = await ModelServer.start({ registry: world.registry, models: ['models:/churn/1'] });
    home = tempDir();
    const logger = pino(
      { level: 'warn' },
      { write: (line: string) => void warnings.push(JSON.parse(line) as Record<string, unknown>) },
    );
    log = new PredictionLog({ home, maxBufferRows: 100_000, logger });
    served = await listenServing({
      tracking: world.tracking,
      registry: world.registry,
      serving,
      predictionLog: log,
    });
    base = served.base;
  });
  afterAll(async () => {
    await served?.close();
    await world?.close();
  });

  it('holds exactly the answered rows after 2,000 requests of 100 rows', async () => {
    // Rows that differ per request, so a row logged under the wrong request would show.
    const body = (i: number) =>
      JSON.stringify({
        dataframe_split: {
          columns: [...COLUMNS],
          data: Array.from({ length: ROWS }, (_, r) => [(i + r) % 40, r % 7, ((i * r) % 50) / 10]),
        },
      });
    const answered = new Map<string, number>();
    const failed: Array<{ status: number; text: string }> = [];
    let sent = 0;
    const clients = Array.from({ length: CLIENTS }, async () => {
      while (sent < REQUESTS) {
        const i = sent++;
        const res = await fetch(`${base}/invocations`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: body(i),
        });
        const text = await res.text();
        if (res.status !== 200) failed.push({ status: res.status, text });
        else
          answered.set(
            res.headers.get('x-request-id') as string,
            (JSON.parse(text) as { predictions: number[] }).predictions.length,
          );
      }
    });
    await Promise.all(clients);
    expect(failed).toEqual([]);
    expect(answered.size).toBe(REQUESTS);

    await log.flush();
    expect(log.stats()).toMatchObject({ droppedRows: 0, bufferedRows: 0, writtenRows: REQUESTS * ROWS });
    const logged = await withDuckDB((conn) =>
      queryRows(
        conn,
        `SELECT request_id, count(*) AS n, count(DISTINCT "row") AS distinct_rows, max("row") AS last_row
         FROM (${predictionsSql({ home, model: 'churn' })}) GROUP BY request_id`,
      ),
    );
    expect(logged).toHaveLength(REQUESTS);
    for (const r of logged) {
      expect(answered.get(r.request_id as string), String(r.request_id)).toBe(ROWS);
      expect([Number(r.n), Number(r.distinct_rows), Number(r.last_row)]).toEqual([ROWS, ROWS, ROWS - 1]);
    }
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toMatch(/^keel_prediction_log_dropped_rows_total 0$/m);
    expect(warnings.filter((w) => String(w.msg).includes('dropped'))).toEqual([]);
  });
});
