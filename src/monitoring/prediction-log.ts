/**
 * @module monitoring/prediction-log
 * Every online prediction logged: a server appends each scored request to an in-memory buffer
 * (no I/O on the request path), and the buffer is written as Parquet by DuckDB every
 * `flushIntervalMs`, whenever `flushRows` rows are waiting, and at `close`. Each write is one
 * file per model and UTC day, written hidden, fsynced and renamed into place
 * (`<home>/predictions/<model>/date=YYYY-MM-DD/part-<ms>-<id>.parquet`), so a reader never sees
 * half a file. Ground-truth labels (`recordFeedback`) go the same way to `<home>/feedback/`.
 *
 * A failed write is logged and its rows stay buffered for the next one; the buffer holds at most
 * `maxBufferRows` rows and drops the oldest beyond that, counting them, so a disk that fails
 * never blocks or fails a request and never grows the process without bound.
 *
 * @example
 * const log = new PredictionLog({ home: config.home, logger });
 * log.append({ timestamp: Date.now(), requestId, model: 'churn', version: '3', canary: false,
 *   latencyMs: 1.2, scores, inputs: { columns: ['tenure', 'orders'], values } });
 * await log.close(); // writes what is buffered
 */
import { join } from 'node:path';
import {
  BOOLEAN,
  DOUBLE,
  type DuckDBConnection,
  DuckDBDataChunk,
  DuckDBInstance,
  type DuckDBType,
  type DuckDBValue,
  FLOAT,
  INTEGER,
  VARCHAR,
} from '@duckdb/node-api';
import { z } from 'zod';
import { type Logger, parseInput, silentLogger } from '../core/index.js';
import { ident, literal, writePartition } from '../data/index.js';
import { feedbackDir, inputColumn, predictionsDir, utcDate } from './prediction-files.js';

/** The model inputs of a scored request, as the route had them. */
export type LoggedInputs =
  /** The encoded input tensor, row-major, with the model's column names. */
  | { columns: readonly string[]; values: Float32Array }
  /** Rows by name (features looked up online), plus the entity key columns they were looked up by. */
  | {
      records: ReadonlyArray<Readonly<Record<string, unknown>>>;
      keys?: Readonly<Record<string, readonly unknown[]>>;
    };

/** One scored request: one row per score. */
export interface PredictionEntry {
  /** When it was answered, ms since the epoch; it picks the date partition. */
  timestamp: number;
  requestId: string;
  model: string;
  version: string;
  /** It went to the model's canary. */
  canary: boolean;
  /** The request's latency in ms. */
  latencyMs: number;
  scores: ArrayLike<number>;
  inputs: LoggedInputs;
}

/** A ground-truth label for row `row` (default 0) of a logged request. */
export interface FeedbackEntry {
  timestamp: number;
  requestId: string;
  row?: number;
  label: number;
}

export interface PredictionLogOptions {
  /** The Keel home; files go under `<home>/predictions` and `<home>/feedback`. */
  home: string;
  /** Write what is buffered this often, in ms (default 1000). */
  flushIntervalMs?: number;
  /** Write as soon as this many rows are buffered (default 10,000). */
  flushRows?: number;
  /** Most rows held while writes fail; the oldest are dropped beyond (default 100,000). */
  maxBufferRows?: number;
  /** Where failed writes are reported (default: nowhere). */
  logger?: Logger;
}

const predictionLogSettings = z.strictObject({
  flushIntervalMs: z.number().int().positive().default(1000),
  flushRows: z.number().int().positive().default(10_000),
  maxBufferRows: z.number().int().positive().default(100_000),
});

/**
 * `monitoring.predictionLog` in keel.yaml: whether `keel serve --model` logs its predictions
 * (default true) and the log's options.
 */
export const predictionLogConfig = z.strictObject({
  enabled: z.boolean().default(true),
  flushIntervalMs: z.number().int().positive().optional(),
  flushRows: z.number().int().positive().optional(),
  maxBufferRows: z.number().int().positive().optional(),
});

export interface PredictionLogStats {
  /** Rows (predictions and labels) waiting to be written. */
  bufferedRows: number;
  /** Rows dropped because the buffer was full, since the log was opened. */
  droppedRows: number;
  /** Prediction rows written to Parquet. */
  writtenRows: number;
  /** Label rows written to Parquet. */
  writtenLabels: number;
  /** Writes that failed. */
  failedFlushes: number;
}

export interface FlushResult {
  rows: number;
  labels: number;
  /** The Parquet files written. */
  files: string[];
}

/**
 * A FIFO of entries counted in rows, holding at most `max` rows: pushing past that drops the
 * oldest entries whole. A head index instead of `shift` keeps a full queue O(1) per push.
 */
class RowQueue<T> {
  private items: Array<T | undefined> = [];
  private head = 0;
  rows = 0;

  constructor(
    private readonly size: (item: T) => number,
    private readonly max: number,
    private readonly onDrop: (rows: number) => void,
  ) {}

  push(item: T): void {
    this.items.push(item);
    this.rows += this.size(item);
    this.trim();
  }

  take(): T[] {
    const out = this.items.slice(this.head) as T[];
    this.items = [];
    this.head = 0;
    this.rows = 0;
    return out;
  }

  /** Puts entries a failed write took back in front of the newer ones. */
  putBack(items: readonly T[]): void {
    this.items = [...items, ...this.items.slice(this.head)];
    this.head = 0;
    for (const item of items) this.rows += this.size(item);
    this.trim();
  }

  private trim(): void {
    while (this.rows > this.max && this.head < this.items.length) {
      const rows = this.size(this.items[this.head] as T);
      this.items[this.head++] = undefined;
      this.rows -= rows;
      this.onDrop(rows);
    }
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
  }
}

type Cell = number | string | boolean | null;
/** How a model input column is stored: FLOAT for encoded tensors, DOUBLE for other numbers, else text. */
type Kind = 'float' | 'double' | 'text';
const KIND_TYPES: Record<Kind, DuckDBType> = { float: FLOAT, double: DOUBLE, text: VARCHAR };
const KIND_SQL: Record<Kind, string> = { float: 'FLOAT', double: 'DOUBLE', text: 'VARCHAR' };
/** A column takes the widest kind its values need. */
const RANK: Record<Kind, number> = { float: 0, double: 1, text: 2 };

/** A value as a cell: NaN and undefined are missing, booleans 0/1, objects JSON. */
function cell(value: unknown): { value: Cell; kind: Kind } | undefined {
  if (value === null || value === undefined) return undefined;
  if (typeof value === 'number') return Number.isNaN(value) ? undefined : { value, kind: 'double' };
  if (typeof value === 'boolean') return { value: value ? 1 : 0, kind: 'double' };
  if (typeof value === 'string') return { value, kind: 'text' };
  return { value: JSON.stringify(value), kind: 'text' };
}

class Column {
  readonly values: Cell[];
  kind?: Kind;
  constructor(rows: number) {
    this.values = new Array<Cell>(rows).fill(null);
  }
  set(row: number, value: Cell, kind: Kind): void {
    this.values[row] = value;
    if (this.kind === undefined || RANK[kind] > RANK[this.kind]) this.kind = kind;
  }
  /** The stored kind; a column that mixes text and numbers stores the numbers as text. */
  finish(): Kind {
    const kind = this.kind ?? 'double';
    if (kind === 'text')
      for (let i = 0; i < this.values.length; i++) {
        const v = this.values[i];
        if (typeof v === 'number') this.values[i] = String(v);
      }
    return kind;
  }
}

/** A staged table: column SQL types, DuckDB types, values column-major, and the SELECT list. */
interface Table {
  types: DuckDBType[];
  sqlTypes: string[];
  columns: Cell[][];
  select: string[];
  rows: number;
}

const rowsOf = (e: PredictionEntry) => e.scores.length;

/** The rows of one model's entries as a table, inputs as their own columns. */
function predictionTable(model: string, entries: readonly PredictionEntry[]): Table {
  const n = entries.reduce((s, e) => s + rowsOf(e), 0);
  const ts = new Array<Cell>(n);
  const ids = new Array<Cell>(n);
  const versions = new Array<Cell>(n);
  const canary = new Array<boolean>(n);
  const rowNo = new Array<Cell>(n);
  const scores = new Array<Cell>(n);
  const latency = new Array<Cell>(n);
  const inputs = new Map<string, Column>();
  const column = (name: string) => {
    let c = inputs.get(name);
    if (!c) {
      c = new Column(n);
      inputs.set(name, c);
    }
    return c;
  };
  let at = 0;
  for (const e of entries) {
    const rows = rowsOf(e);
    for (let r = 0; r < rows; r++) {
      const i = at + r;
      ts[i] = e.timestamp;
      ids[i] = e.requestId;
      versions[i] = e.version;
      canary[i] = e.canary;
      rowNo[i] = r;
      const s = e.scores[r];
      scores[i] = Number.isNaN(s) ? null : s;
      latency[i] = e.latencyMs;
    }
    const { inputs: given } = e;
    if ('values' in given) {
      const width = given.columns.length;
      given.columns.forEach((name, j) => {
        const c = column(name);
        for (let r = 0; r < rows; r++) {
          const v = given.values[r * width + j];
          if (!Number.isNaN(v)) c.set(at + r, v, 'float');
        }
      });
    } else {
      for (const [name, values] of Object.entries(given.keys ?? {}))
        for (let r = 0; r < rows; r++) {
          const v = cell(values[r]);
          if (v) column(name).set(at + r, v.value, v.kind);
        }
      given.records.forEach((record, r) => {
        for (const [name, value] of Object.entries(record)) {
          const v = cell(value);
          if (v) column(name).set(at + r, v.value, v.kind);
        }
      });
    }
    at += rows;
  }
  const kinds = [...inputs.values()].map((c) => c.finish());
  return {
    types: [DOUBLE, VARCHAR, VARCHAR, BOOLEAN, INTEGER, DOUBLE, DOUBLE, ...kinds.map((k) => KIND_TYPES[k])],
    sqlTypes: [
      'DOUBLE',
      'VARCHAR',
      'VARCHAR',
      'BOOLEAN',
      'INTEGER',
      'DOUBLE',
      'DOUBLE',
      ...kinds.map((k) => KIND_SQL[k]),
    ],
    columns: [
      ts,
      ids,
      versions,
      canary,
      rowNo,
      scores,
      latency,
      ...[...inputs.values()].map((c) => c.values),
    ],
    select: [
      'epoch_ms(CAST(c0 AS BIGINT)) AS "timestamp"',
      'c1 AS request_id',
      `${literal(model)} AS model`,
      'c2 AS version',
      'c3 AS canary',
      'c4 AS "row"',
      'c5 AS score',
      'c6 AS latency_ms',
      ...[...inputs.keys()].map((name, j) => `c${7 + j} AS ${ident(inputColumn(name))}`),
    ],
    rows: n,
  };
}

function feedbackTable(entries: readonly FeedbackEntry[]): Table {
  return {
    types: [DOUBLE, VARCHAR, INTEGER, DOUBLE],
    sqlTypes: ['DOUBLE', 'VARCHAR', 'INTEGER', 'DOUBLE'],
    columns: [
      entries.map((e) => e.timestamp),
      entries.map((e) => e.requestId),
      entries.map((e) => e.row ?? 0),
      entries.map((e) => e.label),
    ],
    select: ['epoch_ms(CAST(c0 AS BIGINT)) AS "timestamp"', 'c1 AS request_id', 'c2 AS "row"', 'c3 AS label'],
    rows: entries.length,
  };
}

/** DuckDB's vectors hold this many rows; a data chunk cannot hold more. */
const CHUNK_ROWS = 2048;

/** Groups entries by a key, keeping their order within a group. */
function groupBy<T>(items: readonly T[], key: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    const g = groups.get(k);
    if (g) g.push(item);
    else groups.set(k, [item]);
  }
  return groups;
}

export class PredictionLog {
  private readonly settings: z.infer<typeof predictionLogSettings>;
  private readonly logger: Logger;
  private readonly predictions: RowQueue<PredictionEntry>;
  private readonly feedback: RowQueue<FeedbackEntry>;
  private readonly timer: NodeJS.Timeout;
  private dropped = 0;
  private written = 0;
  private writtenLabels = 0;
  private failed = 0;
  /** Rows a write in progress has taken from the buffer and not yet written: still buffered. */
  private writing = 0;
  /** The message of the last failed write, logged once until a write succeeds. */
  private lastFailure?: string;
  /** Writes run one after another; this settles when the last one queued is done. */
  private writes: Promise<unknown> = Promise.resolve();
  private writeQueued = false;
  private closed = false;
  private db?: Promise<{ instance: DuckDBInstance; conn: DuckDBConnection }>;

  /** @throws KeelError INVALID_PARAMETER_VALUE naming the option for a bad setting. */
  constructor(private readonly options: PredictionLogOptions) {
    this.settings = parseInput(
      predictionLogSettings,
      {
        flushIntervalMs: options.flushIntervalMs,
        flushRows: options.flushRows,
        maxBufferRows: options.maxBufferRows,
      },
      'prediction log options',
    );
    this.logger = options.logger ?? silentLogger;
    const drop = (rows: number) => {
      this.dropped += rows;
    };
    this.predictions = new RowQueue(rowsOf, this.settings.maxBufferRows, drop);
    this.feedback = new RowQueue(() => 1, this.settings.maxBufferRows, drop);
    // unref: a forgotten log must not keep the process alive.
    this.timer = setInterval(() => this.flushInBackground(), this.settings.flushIntervalMs).unref();
  }

  /** Buffers one scored request; never throws, never waits. After `close`, the rows count as dropped. */
  append(entry: PredictionEntry): void {
    if (this.closed) {
      this.dropped += rowsOf(entry);
      return;
    }
    this.predictions.push(entry);
    if (this.predictions.rows >= this.settings.flushRows) this.flushInBackground();
  }

  /** Buffers ground-truth labels, written beside the predictions like them. */
  recordFeedback(entries: readonly FeedbackEntry[]): void {
    for (const e of entries) {
      if (this.closed) this.dropped++;
      else this.feedback.push(e);
    }
    if (this.feedback.rows >= this.settings.flushRows) this.flushInBackground();
  }

  stats(): PredictionLogStats {
    return {
      bufferedRows: this.predictions.rows + this.feedback.rows + this.writing,
      droppedRows: this.dropped,
      writtenRows: this.written,
      writtenLabels: this.writtenLabels,
      failedFlushes: this.failed,
    };
  }

  /**
   * Writes everything buffered now (after any write in progress).
   * @throws the write's error; the rows not written stay buffered for the next write.
   */
  flush(): Promise<FlushResult> {
    const run = this.writes.then(() => this.write());
    this.writes = run.catch(() => undefined);
    return run;
  }

  /** Stops the timer, writes what is buffered and closes DuckDB. Never throws: a failure is logged. */
  async close(): Promise<void> {
    if (this.closed) return;
    clearInterval(this.timer);
    try {
      await this.flush();
    } catch {
      this.logger.error(
        { rows: this.predictions.rows, labels: this.feedback.rows },
        'the prediction log could not be written at close: its buffered rows are lost',
      );
    }
    this.closed = true;
    this.dropped += this.predictions.take().reduce((s, e) => s + rowsOf(e), 0) + this.feedback.take().length;
    const db = await this.db?.catch(() => undefined);
    db?.conn.closeSync();
    db?.instance.closeSync();
  }

  /** A write started by the timer or a full buffer: its failure is reported, not thrown. */
  private flushInBackground(): void {
    if (this.writeQueued) return;
    this.writeQueued = true;
    this.flush().catch(() => undefined);
  }

  private connection(): Promise<{ instance: DuckDBInstance; conn: DuckDBConnection }> {
    this.db ??= (async () => {
      // One thread: the log shares the machine with the requests it records.
      const instance = await DuckDBInstance.create(':memory:', { threads: '1' });
      return { instance, conn: await instance.connect() };
    })();
    return this.db;
  }

  private async write(): Promise<FlushResult> {
    this.writeQueued = false;
    const taken = this.predictions.rows + this.feedback.rows;
    const entries = this.predictions.take();
    const labels = this.feedback.take();
    const result: FlushResult = { rows: 0, labels: 0, files: [] };
    if (entries.length === 0 && labels.length === 0) return result;
    this.writing = taken;
    const { home } = this.options;
    const groups = [...groupBy(entries, (e) => `${e.model}\u0000${utcDate(e.timestamp)}`).values()];
    const labelGroups = [...groupBy(labels, (e) => utcDate(e.timestamp)).values()];
    try {
      const { conn } = await this.connection();
      while (groups.length > 0) {
        const group = groups[0];
        const { model, timestamp } = group[0];
        const dir = join(predictionsDir(home, model), `date=${utcDate(timestamp)}`);
        const table = predictionTable(model, group);
        result.files.push(await writeTable(conn, dir, table));
        groups.shift();
        result.rows += table.rows;
        this.written += table.rows;
        this.writing -= table.rows;
      }
      while (labelGroups.length > 0) {
        const group = labelGroups[0];
        const dir = join(feedbackDir(home), `date=${utcDate(group[0].timestamp)}`);
        result.files.push(await writeTable(conn, dir, feedbackTable(group)));
        labelGroups.shift();
        result.labels += group.length;
        this.writtenLabels += group.length;
        this.writing -= group.length;
      }
    } catch (err) {
      this.failed++;
      this.writing = 0;
      this.predictions.putBack(groups.flat());
      this.feedback.putBack(labelGroups.flat());
      const message = (err as Error).message;
      if (message !== this.lastFailure)
        this.logger.warn(
          { err, buffered: this.predictions.rows + this.feedback.rows },
          'writing the prediction log failed: its rows stay buffered for the next write',
        );
      this.lastFailure = message;
      throw err;
    }
    if (this.lastFailure !== undefined) this.logger.info('the prediction log is written again');
    this.lastFailure = undefined;
    return result;
  }
}

/** Stages `table` in DuckDB and writes it as one Parquet partition under `dir`. */
async function writeTable(conn: DuckDBConnection, dir: string, table: Table): Promise<string> {
  const defs = table.sqlTypes.map((t, i) => `c${i} ${t}`).join(', ');
  await conn.run(`CREATE OR REPLACE TABLE __keel_log (${defs})`);
  try {
    const appender = await conn.createAppender('__keel_log');
    try {
      for (let start = 0; start < table.rows; start += CHUNK_ROWS) {
        const end = Math.min(table.rows, start + CHUNK_ROWS);
        const chunk = DuckDBDataChunk.create(table.types, end - start);
        chunk.setColumns(table.columns.map((c) => c.slice(start, end) as DuckDBValue[]));
        appender.appendDataChunk(chunk);
        // Let requests in between chunks: a big write must not hold the event loop whole.
        await new Promise((resolve) => setImmediate(resolve));
      }
    } finally {
      appender.closeSync();
    }
    return await writePartition(conn, dir, `SELECT ${table.select.join(', ')} FROM __keel_log`, Date.now());
  } finally {
    await conn.run('DROP TABLE IF EXISTS __keel_log');
  }
}
