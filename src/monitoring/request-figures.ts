/**
 * @module monitoring/request-figures
 * The server's own request figures, per minute, in the metadata database: requests answered and
 * failed (5xx) and a latency histogram, by route, model and version. The prediction log holds
 * only answered rows, so a monitor needs these for error rates and latency; being in the database
 * they reach a monitor in another process or after a restart.
 *
 * Each server process keeps its current minutes in memory and writes them every
 * `flushIntervalMs` (10 s) and at close, as its own rows (keyed by an instance id), replacing its
 * earlier write of the same minute: several servers never add into one row, and a failed write is
 * simply repeated by the next one. Nothing on the request path waits for the database.
 */
import { type Clock, type Logger, shortId, silentLogger, systemClock } from '../core/index.js';
import type { SqlDatabase } from '../storage/index.js';

/** Latency bucket upper bounds in seconds: the same as `keel_http_request_duration_seconds`. */
export const LATENCY_BUCKETS = [
  0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5,
];

const MINUTE = 60_000;

interface Cell {
  minute: number;
  route: string;
  model: string;
  version: string;
  answered: number;
  failed: number;
  latencySum: number;
  /** Counts per bucket, the last one for beyond the largest bound. */
  buckets: number[];
  dirty: boolean;
}

export interface RequestFiguresOptions {
  db: SqlDatabase;
  clock?: Clock;
  /** Written every this many ms (default 10,000), and at close. */
  flushIntervalMs?: number;
  logger?: Logger;
}

/** Where a server counts its scoring requests for the monitors. */
export class RequestFigures {
  readonly instance = shortId(12);
  private readonly cells = new Map<string, Cell>();
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly timer: NodeJS.Timeout;
  private writing: Promise<void> = Promise.resolve();
  private failing = false;

  constructor(private readonly options: RequestFiguresOptions) {
    this.clock = options.clock ?? systemClock;
    this.logger = options.logger ?? silentLogger;
    this.timer = setInterval(() => {
      this.flush().catch(() => undefined);
    }, options.flushIntervalMs ?? 10_000).unref();
  }

  /** One request of a served model: its status and its latency in seconds. */
  record(route: string, model: string, version: string, status: number, seconds: number): void {
    const minute = Math.floor(this.clock.now() / MINUTE) * MINUTE;
    const key = `${minute}\u0000${route}\u0000${model}\u0000${version}`;
    let cell = this.cells.get(key);
    if (!cell) {
      cell = {
        minute,
        route,
        model,
        version,
        answered: 0,
        failed: 0,
        latencySum: 0,
        buckets: new Array(LATENCY_BUCKETS.length + 1).fill(0),
        dirty: true,
      };
      this.cells.set(key, cell);
    }
    if (status >= 500) cell.failed++;
    else cell.answered++;
    cell.latencySum += seconds;
    let b = 0;
    while (b < LATENCY_BUCKETS.length && seconds > LATENCY_BUCKETS[b]) b++;
    cell.buckets[b]++;
    cell.dirty = true;
  }

  /** Writes the minutes changed since the last write; minutes before the current one are then forgotten. */
  flush(): Promise<void> {
    const run = this.writing.then(() => this.write());
    this.writing = run.catch(() => undefined);
    return run;
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flush().catch((err) =>
      this.logger.error({ err }, 'the last request figures could not be written'),
    );
  }

  private async write(): Promise<void> {
    const dirty = [...this.cells.values()].filter((c) => c.dirty);
    if (dirty.length === 0) return;
    for (const c of dirty) c.dirty = false;
    try {
      await this.options.db.transaction(async (tx) => {
        for (const c of dirty)
          await tx.run(
            `INSERT INTO request_figures (minute, instance, route, model, version, answered, failed, latency_sum, buckets)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
             ON CONFLICT (minute, instance, route, model, version) DO UPDATE SET answered = excluded.answered,
               failed = excluded.failed, latency_sum = excluded.latency_sum, buckets = excluded.buckets`,
            [
              c.minute,
              this.instance,
              c.route,
              c.model,
              c.version,
              c.answered,
              c.failed,
              c.latencySum,
              JSON.stringify(c.buckets),
            ],
          );
      });
    } catch (err) {
      for (const c of dirty) c.dirty = true;
      if (!this.failing)
        this.logger.warn({ err }, 'writing request figures failed: retried at the next write');
      this.failing = true;
      throw err;
    }
    if (this.failing) this.logger.info('request figures are written again');
    this.failing = false;
    const current = Math.floor(this.clock.now() / MINUTE) * MINUTE;
    for (const [key, c] of this.cells) if (c.minute < current && !c.dirty) this.cells.delete(key);
  }
}

/** A version's request figures over a window. */
export interface ServiceFigures {
  version: string;
  requests: number;
  failed: number;
  /** failed / requests; null without requests. */
  errorRate: number | null;
  /** From the latency histogram, interpolated within a bucket as Prometheus' histogram_quantile. */
  p50Ms: number | null;
  p95Ms: number | null;
  p99Ms: number | null;
  /** Requests a second over the window. */
  throughput: number;
}

/** The q-quantile of a histogram (Prometheus `histogram_quantile`'s interpolation), in seconds. */
export function histogramQuantile(q: number, buckets: readonly number[]): number | null {
  const total = buckets.reduce((a, b) => a + b, 0);
  if (total === 0) return null;
  const rank = q * total;
  let cumulative = 0;
  for (let b = 0; b < buckets.length; b++) {
    const before = cumulative;
    cumulative += buckets[b];
    if (cumulative >= rank && buckets[b] > 0) {
      // Beyond the largest bound there is no upper edge: Prometheus answers the largest bound.
      if (b === LATENCY_BUCKETS.length) return LATENCY_BUCKETS[b - 1];
      const lower = b === 0 ? 0 : LATENCY_BUCKETS[b - 1];
      return lower + (LATENCY_BUCKETS[b] - lower) * ((rank - before) / buckets[b]);
    }
  }
  return LATENCY_BUCKETS[LATENCY_BUCKETS.length - 1];
}

/** Every process's figures for a model's versions over [from, to), minutes whole. */
export async function serviceFigures(
  db: SqlDatabase,
  model: string,
  from: number,
  to: number,
): Promise<ServiceFigures[]> {
  const rows = await db.all<{ version: string; answered: number; failed: number; buckets: string }>(
    'SELECT version, answered, failed, buckets FROM request_figures WHERE model = ? AND minute >= ? AND minute < ?',
    [model, from, to],
  );
  const byVersion = new Map<string, { answered: number; failed: number; buckets: number[] }>();
  for (const r of rows) {
    const v = byVersion.get(r.version) ?? {
      answered: 0,
      failed: 0,
      buckets: new Array(LATENCY_BUCKETS.length + 1).fill(0),
    };
    v.answered += Number(r.answered);
    v.failed += Number(r.failed);
    const counts = JSON.parse(r.buckets) as number[];
    counts.forEach((c, i) => {
      v.buckets[i] += c;
    });
    byVersion.set(r.version, v);
  }
  const seconds = (to - from) / 1000;
  const ms = (q: number, b: number[]) => {
    const s = histogramQuantile(q, b);
    return s === null ? null : s * 1000;
  };
  return [...byVersion]
    .sort(([a], [b]) => Number(a) - Number(b) || (a < b ? -1 : 1))
    .map(([version, v]) => {
      const requests = v.answered + v.failed;
      return {
        version,
        requests,
        failed: v.failed,
        errorRate: requests === 0 ? null : v.failed / requests,
        p50Ms: ms(0.5, v.buckets),
        p95Ms: ms(0.95, v.buckets),
        p99Ms: ms(0.99, v.buckets),
        throughput: requests / seconds,
      };
    });
}
