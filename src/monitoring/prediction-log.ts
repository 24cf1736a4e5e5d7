/**
 * @module monitoring/prediction-log
 * Every online prediction logged: a server appends each scored request to an in-memory buffer
 * (no I/O on the request path), and the buffer is written as Parquet every `flushIntervalMs`,
 * whenever `flushRows` rows are waiting, and at `close`. Each write is one file per model and UTC
 * day (or more, of at most `MAX_FILE_ROWS` rows each), written hidden, fsynced and renamed into
 * place (`<home>/predictions/<model>/date=YYYY-MM-DD/part-<ms>-<id>.parquet`), so a reader never
 * sees half a file. Ground-truth labels (`recordFeedback`) go the same way to `<home>/feedback/`.
 *
 * A write takes everything buffered when it starts, so under load the writes grow and their fixed
 * costs (a file, two fsyncs) are shared by more rows. The file is encoded by Keel itself
 * (data/parquet-encode) from the columns the buffer holds: what a request shares by all its rows
 * (time, id, version, latency) once per request, scores and encoded inputs as typed arrays.
 * Encoding takes about 0.1 us of the event loop a row, staging included; the file is written and
 * fsynced off it (bench/monitoring/prediction-log.ts).
 *
 * A failed write is logged and its rows stay buffered for the next one; the buffer holds at most
 * `maxBufferRows` rows and drops the oldest beyond that, so a disk that fails never blocks or
 * fails a request and never grows the process without bound. Drops are counted (the
 * `keel_prediction_log_dropped_rows_total` metric, alerted on by deploy/prometheus/keel-rules.yml)
 * and warned about in the log.
 *
 * @example
 * const log = new PredictionLog({ home: config.home, logger });
 * log.append({ timestamp: Date.now(), requestId, model: 'churn', version: '3', canary: false,
 *   latencyMs: 1.2, scores, inputs: { columns: ['tenure', 'orders'], values } });
 * await log.close(); // writes what is buffered
 */
import { join } from 'node:path';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { z } from 'zod';
import { type Logger, parseInput, silentLogger } from '../core/index.js';
import { encodeParquet, type ParquetColumn, writeEncodedPartition } from '../data/index.js';
import { PredictionBuffer, rowsOf } from './prediction-buffer.js';
import { feedbackDir, inputColumn, predictionsDir, utcDate } from './prediction-files.js';

const DAY_MS = 86_400_000;

/** The model inputs of a scored request, as the route had them. */
export type LoggedInputs =
  /**
   * Numbers, row-major, with their column names: an encoded input tensor (FLOAT columns), or
   * looked-up features and keys that were all numbers (DOUBLE columns). NaN is missing.
   */
  | { columns: readonly string[]; values: Float32Array | Float64Array }
  /** Columns of values by name (features looked up online), plus the entity key columns they were looked up by. */
  | {
      byColumn: ReadonlyMap<string, readonly unknown[]>;
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
  /** The model's shadow scored a copy of it: logged, never answered. */
  shadow?: boolean;
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
  /** Most rows held while writes fail or fall behind; the oldest are dropped beyond (default 1,000,000). */
  maxBufferRows?: number;
  /** Where failed writes are reported (default: nowhere). */
  logger?: Logger;
}

const predictionLogSettings = z.strictObject({
  flushIntervalMs: z.number().int().positive().default(1000),
  flushRows: z.number().int().positive().default(10_000),
  // A second or more of what one server scores (about 130,000 rows/s of 100-row requests here),
  // so a slow fsync or a pause of the disk drops nothing; about 60 MB of rows at most.
  maxBufferRows: z.number().int().positive().default(1_000_000),
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

/** How a model input column is stored: FLOAT for encoded tensors, DOUBLE for other numbers, else text. */
type Kind = 'float' | 'double' | 'string';
/** A column takes the widest kind its values need. */
const RANK: Record<Kind, number> = { float: 0, double: 1, string: 2 };

type Cell = number | string | null;

/** A value other than a number as a cell: null and undefined are missing, booleans 0/1, objects JSON. */
function cell(value: unknown): { value: Cell; kind: Kind } | undefined {
  if (value === null || value === undefined) return undefined;
  if (typeof value === 'boolean') return { value: value ? 1 : 0, kind: 'double' };
  if (typeof value === 'string') return { value, kind: 'string' };
  return { value: JSON.stringify(value), kind: 'string' };
}

/**
 * One input column of a write. Numbers (encoded tensors' float32 values, looked-up features'
 * doubles) fill a Float64Array (NaN: missing), written as the array's bytes; the first value of
 * another kind turns it into cells.
 */
class Column {
  private numbers: Float64Array | undefined;
  private cells: Cell[] | undefined;
  private kind: Kind = 'float';

  constructor(private readonly rows: number) {
    this.numbers = new Float64Array(rows).fill(Number.NaN);
  }

  /** A number of `kind` float (a tensor's) or double (a feature's): stored as a FLOAT column only if all are float. */
  setNumber(row: number, value: number, kind: 'float' | 'double'): void {
    if (this.numbers) {
      this.numbers[row] = value;
      if (kind === 'double') this.kind = 'double';
    } else if (!Number.isNaN(value)) this.setCell(row, value, kind);
  }

  setCell(row: number, value: Cell, kind: Kind): void {
    if (!this.cells) {
      const numbers = this.numbers as Float64Array;
      this.cells = Array.from(numbers, (v) => (Number.isNaN(v) ? null : v));
      this.numbers = undefined;
    }
    this.cells[row] = value;
    if (RANK[kind] > RANK[this.kind]) this.kind = kind;
  }

  /** The column to write under `name`; a column that mixes text and numbers stores the numbers as text. */
  finish(name: string): ParquetColumn {
    if (this.numbers)
      return this.kind === 'float'
        ? { name, type: 'float', values: Float32Array.from(this.numbers) }
        : { name, type: 'double', values: this.numbers };
    const cells = this.cells ?? new Array<Cell>(this.rows).fill(null);
    if (this.kind === 'string')
      return { name, type: 'string', values: cells.map((v) => (typeof v === 'number' ? String(v) : v)) };
    // Cells that are not text are numbers and booleans (as 0/1), made cells by a boolean.
    return {
      name,
      type: 'double',
      values: Float64Array.from(cells, (v) => (v === null ? Number.NaN : Number(v))),
    };
  }
}

/** What one Parquet file of the log is written from. */
interface LogWrite {
  columns: ParquetColumn[];
  rows: number;
}

/** Rows staged between two pauses of `predictionWrite`: well under a millisecond of work. */
const STAGE_STEP_ROWS = 4096;

/**
 * The rows of one model's entries. What is the same for every row of a request (time, id,
 * version, canary, latency) is held once per request with its number of rows, and written as one
 * dictionary entry and one run of rows (data/parquet-encode), so a 100-row request costs one text
 * value of each, not a hundred; scores and tensor inputs are written as the typed arrays they are.
 * A generator that pauses every `STAGE_STEP_ROWS` rows (see `inTurns`).
 */
function* predictionWrite(
  model: string,
  entries: readonly PredictionEntry[],
): Generator<void, LogWrite, void> {
  const n = entries.reduce((s, e) => s + rowsOf(e), 0);
  const m = entries.length;
  const runs = new Int32Array(m);
  const ts = new Float64Array(m);
  const ids = new Array<string>(m);
  const versions = new Array<string>(m);
  const canary = new Array<boolean>(m);
  const shadow = new Array<boolean>(m);
  const latency = new Float64Array(m);
  const rowNo = new Int32Array(n);
  const scores = new Float64Array(n);
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
  let paused = 0;
  for (let q = 0; q < m; q++) {
    const e = entries[q];
    const rows = rowsOf(e);
    runs[q] = rows;
    ts[q] = e.timestamp;
    ids[q] = e.requestId;
    versions[q] = e.version;
    canary[q] = e.canary;
    shadow[q] = e.shadow === true;
    latency[q] = e.latencyMs;
    for (let r = 0; r < rows; r++) {
      rowNo[at + r] = r;
      scores[at + r] = e.scores[r];
    }
    const { inputs: given } = e;
    if ('values' in given) {
      const width = given.columns.length;
      const kind = given.values instanceof Float32Array ? 'float' : 'double';
      given.columns.forEach((name, j) => {
        const c = column(name);
        for (let r = 0; r < rows; r++) c.setNumber(at + r, given.values[r * width + j], kind);
      });
    } else {
      for (const [name, values] of [...Object.entries(given.keys ?? {}), ...given.byColumn]) {
        const c = column(name);
        for (let r = 0; r < rows; r++) {
          const value = values[r];
          if (typeof value === 'number') c.setNumber(at + r, value, 'double');
          else {
            const v = cell(value);
            if (v) c.setCell(at + r, v.value, v.kind);
          }
        }
      }
    }
    at += rows;
    if (at - paused >= STAGE_STEP_ROWS) {
      paused = at;
      yield;
    }
  }
  const columns: ParquetColumn[] = [
    { name: 'timestamp', type: 'timestamp', values: ts, runs },
    { name: 'request_id', type: 'string', values: ids, runs },
    { name: 'model', type: 'string', values: [model], runs: Int32Array.of(n) },
    { name: 'version', type: 'string', values: versions, runs },
    { name: 'canary', type: 'boolean', values: canary, runs },
    { name: 'shadow', type: 'boolean', values: shadow, runs },
    { name: 'row', type: 'int32', values: rowNo },
    { name: 'score', type: 'double', values: scores },
    { name: 'latency_ms', type: 'double', values: latency, runs },
    ...[...inputs].map(([name, c]) => c.finish(inputColumn(name))),
  ];
  return { columns, rows: n };
}

function feedbackWrite(entries: readonly FeedbackEntry[]): LogWrite {
  return {
    columns: [
      { name: 'timestamp', type: 'timestamp', values: Float64Array.from(entries, (e) => e.timestamp) },
      { name: 'request_id', type: 'string', values: entries.map((e) => e.requestId) },
      { name: 'row', type: 'int32', values: Int32Array.from(entries, (e) => e.row ?? 0) },
      { name: 'label', type: 'double', values: Float64Array.from(entries, (e) => e.label) },
    ],
    rows: entries.length,
  };
}

/**
 * Writes started because `flushRows` rows wait come at most this often (ms), unless the buffer
 * is half full: writes back to back made ~17 files a second under load, each with its fixed costs
 * (a file, two fsyncs), a sixth more CPU a request. Four a second at most share those costs.
 */
const MIN_WRITE_GAP_MS = 250;

/**
 * The most rows in one file. A file is staged and encoded on the event loop (about 0.1 us a row),
 * so a write of a large backlog (after a slow disk, up to `maxBufferRows`) is cut into files that
 * each hold it for a few ms, with the event loop free between them while each is written.
 */
const MAX_FILE_ROWS = 50_000;

/** Drops are warned about at most this often, each warning counting those since the last. */
const DROP_WARNING_MS = 10_000;

/**
 * Runs `steps` to its end, letting the event loop run between two steps: staging and encoding a
 * write of 20,000 rows took 2-25 ms in one piece, every request due meanwhile waiting for it.
 */
async function inTurns<T>(steps: Generator<void, T, void>): Promise<T> {
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
    await nextTurn();
  }
}

/** Encodes `table` in turns and writes it as a partition under `dir`; answers the file. */
async function writeLogFile(dir: string, table: LogWrite): Promise<string> {
  return writeEncodedPartition(dir, await inTurns(encodeParquet(table.columns, table.rows)), Date.now());
}

/** `items` cut into runs of at most `max` rows (an item larger than that alone), in order. */
function inSlices<T>(items: readonly T[], rows: (item: T) => number, max: number): T[][] {
  const slices: T[][] = [];
  let slice: T[] = [];
  let held = 0;
  for (const item of items) {
    const n = rows(item);
    if (held + n > max && slice.length > 0) {
      slices.push(slice);
      slice = [];
      held = 0;
    }
    slice.push(item);
    held += n;
  }
  if (slice.length > 0) slices.push(slice);
  return slices;
}

/** Groups entries by a key, keeping their order within a group. */
function groupBy<T, K>(items: readonly T[], key: (item: T) => K): Map<K, T[]> {
  const groups = new Map<K, T[]>();
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
  private readonly predictions: PredictionBuffer;
  private readonly feedback: RowQueue<FeedbackEntry>;
  private readonly timer: NodeJS.Timeout;
  private dropped = 0;
  /** Rows dropped since the last warning about drops, and when that was (ms). */
  private droppedUnreported = 0;
  private lastDropWarning = 0;
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
  /** When the last write started (ms), and the timer of a row-count write held back until the gap. */
  private lastWriteAt = 0;
  private heldBack?: NodeJS.Timeout;
  private closed = false;

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
    const drop = (rows: number) => this.countDropped(rows);
    this.predictions = new PredictionBuffer(this.settings.maxBufferRows, drop);
    this.feedback = new RowQueue(() => 1, this.settings.maxBufferRows, drop);
    // unref: a forgotten log must not keep the process alive.
    this.timer = setInterval(() => this.flushInBackground(), this.settings.flushIntervalMs).unref();
  }

  /** Buffers one scored request; never throws, never waits. After `close`, the rows count as dropped. */
  append(entry: PredictionEntry): void {
    if (this.closed) {
      this.countDropped(rowsOf(entry));
      return;
    }
    this.predictions.push(entry);
    if (this.predictions.rows >= this.settings.flushRows) this.flushForRows();
  }

  /** Buffers ground-truth labels, written beside the predictions like them. */
  recordFeedback(entries: readonly FeedbackEntry[]): void {
    for (const e of entries) {
      if (this.closed) this.countDropped(1);
      else this.feedback.push(e);
    }
    if (this.feedback.rows >= this.settings.flushRows) this.flushForRows();
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

  /** Stops the timer, writes what is buffered and ends the writer thread. Never throws: a failure is logged. */
  async close(): Promise<void> {
    if (this.closed) return;
    clearInterval(this.timer);
    clearTimeout(this.heldBack);
    try {
      await this.flush();
    } catch {
      this.logger.error(
        { rows: this.predictions.rows, labels: this.feedback.rows },
        'the prediction log could not be written at close: its buffered rows are lost',
      );
    }
    this.closed = true;
    this.countDropped(
      this.predictions.take().reduce((s, e) => s + rowsOf(e), 0) + this.feedback.take().length,
    );
    this.reportDropped();
  }

  /**
   * Counts dropped rows and warns: at the first drop, then at most every `DROP_WARNING_MS` with
   * the rows dropped since the last warning (a full buffer drops at every request).
   */
  private countDropped(rows: number): void {
    if (rows <= 0) return;
    this.dropped += rows;
    this.droppedUnreported += rows;
    if (Date.now() - this.lastDropWarning >= DROP_WARNING_MS) this.reportDropped();
  }

  private reportDropped(): void {
    if (this.droppedUnreported === 0) return;
    this.logger.warn(
      {
        dropped: this.droppedUnreported,
        droppedTotal: this.dropped,
        buffered: this.predictions.rows + this.feedback.rows,
        maxBufferRows: this.settings.maxBufferRows,
      },
      'the prediction log dropped rows: its writes fail or fall behind what is scored (keel_prediction_log_dropped_rows_total)',
    );
    this.droppedUnreported = 0;
    this.lastDropWarning = Date.now();
  }

  /** A write started by the timer or a full buffer: its failure is reported, not thrown. */
  /**
   * A write for rows waiting past `flushRows`: at once, or once `MIN_WRITE_GAP_MS` have passed
   * since the last write started; at once whatever the gap when the buffer is half full.
   */
  private flushForRows(): void {
    if (this.writeQueued) return;
    const wait = this.lastWriteAt + MIN_WRITE_GAP_MS - Date.now();
    const rows = this.predictions.rows + this.feedback.rows;
    if (wait <= 0 || rows * 2 >= this.settings.maxBufferRows) {
      clearTimeout(this.heldBack);
      this.heldBack = undefined;
      this.flushInBackground();
    } else
      this.heldBack ??= setTimeout(() => {
        this.heldBack = undefined;
        this.flushInBackground();
      }, wait).unref();
  }

  private flushInBackground(): void {
    if (this.writeQueued) return;
    this.writeQueued = true;
    this.flush().catch(() => undefined);
  }

  private async write(): Promise<FlushResult> {
    this.writeQueued = false;
    this.lastWriteAt = Date.now();
    const taken = this.predictions.rows + this.feedback.rows;
    const entries = this.predictions.take();
    const labels = this.feedback.take();
    const result: FlushResult = { rows: 0, labels: 0, files: [] };
    if (entries.length === 0 && labels.length === 0) return result;
    this.writing = taken;
    const { home } = this.options;
    // Grouped by model and UTC day number; the day's text is made once per group below.
    const day = (ms: number) => Math.floor(ms / DAY_MS);
    const groups = [...groupBy(entries, (e) => `${e.model}\u0000${day(e.timestamp)}`).values()].flatMap(
      (group) => inSlices(group, rowsOf, MAX_FILE_ROWS),
    );
    const labelGroups = [...groupBy(labels, (e) => day(e.timestamp)).values()].flatMap((group) =>
      inSlices(group, () => 1, MAX_FILE_ROWS),
    );
    try {
      while (groups.length > 0) {
        const group = groups[0];
        const { model, timestamp } = group[0];
        const dir = join(predictionsDir(home, model), `date=${utcDate(timestamp)}`);
        const table = await inTurns(predictionWrite(model, group));
        result.files.push(await writeLogFile(dir, table));
        groups.shift();
        result.rows += table.rows;
        this.written += table.rows;
        this.writing -= table.rows;
      }
      while (labelGroups.length > 0) {
        const group = labelGroups[0];
        const dir = join(feedbackDir(home), `date=${utcDate(group[0].timestamp)}`);
        result.files.push(await writeLogFile(dir, feedbackWrite(group)));
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
