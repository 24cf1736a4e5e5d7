/**
 * @module monitoring/prediction-buffer
 * The prediction log's buffer of scored requests, held as columns rather than as the entries
 * themselves: a request waits here up to a write's gap (a quarter of a second under load), past a
 * young collection, and every collection copied each waiting entry's objects (the entry, its
 * score and input arrays, the request's parsed body and the lookup's map they pointed into). At
 * 1,000 requests/s that made a young collection take 2.4-2.9 ms against 1.0-1.3 ms with the log
 * off. Here a request adds numbers to a few arrays and keeps only its id's string; entries are
 * made again when a write takes them. Inputs that are not all numbers (text keys, booleans,
 * objects) and large tensors (one typed array, its numbers outside the heap) are kept as given.
 *
 * A FIFO counted in rows, holding at most `max` rows: pushing past that drops the oldest
 * requests whole.
 */
import type { LoggedInputs, PredictionEntry } from './prediction-log.js';

/** How a request's inputs are held: numbers stored as FLOAT or as DOUBLE columns, or as given. */
const FLOAT = 0;
const DOUBLE = 1;
const AS_GIVEN = 2;

/** Numbers per request in `meta`: time, latency, flags, rows, where its numbers start, input kind. */
const STRIDE = 6;
/** Bits of a request's flags. */
const CANARY = 1;
const SHADOW = 2;
/** Numbers the buffer holds before it first grows. */
const INITIAL_NUMBERS = 4096;
/** The most numbers a new buffer starts with room for: as many as the last one used, up to this. */
const MAX_START_NUMBERS = 1 << 20;
/** Tensors of up to this many numbers are copied; larger ones are kept as given. */
const SMALL_TENSOR = 64;

/** Rows of a logged request: one per score. */
export const rowsOf = (e: PredictionEntry): number => e.scores.length;

type LookedUp = Exclude<LoggedInputs, { values: unknown }>;

export class PredictionBuffer {
  private meta: number[] = [];
  private requestIds: string[] = [];
  private models: string[] = [];
  private versions: string[] = [];
  /** Per request: its input columns' names (shared while they stay the same), or its inputs as given. */
  private inputs: Array<readonly string[] | LoggedInputs> = [];
  /** Every request's scores, then its inputs row-major (NaN: missing); `used` of them hold some. */
  private numbers = new Float64Array(INITIAL_NUMBERS);
  private used = 0;
  private lastNames: readonly string[] = [];
  private head = 0;
  rows = 0;

  constructor(
    private readonly max: number,
    private readonly onDrop: (rows: number) => void,
  ) {}

  get length(): number {
    return this.requestIds.length - this.head;
  }

  push(entry: PredictionEntry): void {
    this.add(entry);
    this.trim();
  }

  /** Every waiting request as an entry, oldest first; the buffer is then empty. */
  take(): PredictionEntry[] {
    // Nothing since the last take (an idle server's timer): keep the numbers' array.
    if (this.requestIds.length === 0) return [];
    // The entries' arrays are views of this one; the buffer starts a new one.
    const { numbers } = this;
    // Tensors' numbers come back as Float32Array views of one array: an ArrayBuffer a request
    // (a native allocation, and memory outside the heap that hastens collections) cost more than
    // the rest of its entry.
    let floats: Float32Array | undefined;
    let f = 0;
    const out: PredictionEntry[] = new Array(this.length);
    for (let i = this.head; i < this.requestIds.length; i++) {
      const m = i * STRIDE;
      const rows = this.meta[m + 3];
      const start = this.meta[m + 4];
      const kind = this.meta[m + 5];
      const held = this.inputs[i];
      let inputs: LoggedInputs;
      if (kind === AS_GIVEN) inputs = held as LoggedInputs;
      else {
        const columns = held as readonly string[];
        const values = numbers.subarray(start + rows, start + rows + rows * columns.length);
        if (kind === FLOAT) {
          floats ??= new Float32Array(this.used);
          floats.set(values, f);
          inputs = { columns, values: floats.subarray(f, f + values.length) };
          f += values.length;
        } else inputs = { columns, values };
      }
      const flags = this.meta[m + 2];
      const entry: PredictionEntry = {
        timestamp: this.meta[m],
        requestId: this.requestIds[i],
        model: this.models[i],
        version: this.versions[i],
        canary: (flags & CANARY) !== 0,
        latencyMs: this.meta[m + 1],
        scores: numbers.subarray(start, start + rows),
        inputs,
      };
      if (flags & SHADOW) entry.shadow = true;
      out[i - this.head] = entry;
    }
    this.clear();
    return out;
  }

  /** Puts entries a failed write took back in front of the newer ones. */
  putBack(entries: readonly PredictionEntry[]): void {
    const newer = this.take();
    for (const e of entries) this.add(e);
    for (const e of newer) this.add(e);
    this.trim();
  }

  private add(entry: PredictionEntry): void {
    const rows = rowsOf(entry);
    const start = this.used;
    this.append(entry.scores);
    const given = entry.inputs;
    let kind = AS_GIVEN;
    let held: readonly string[] | LoggedInputs = given;
    if ('values' in given) {
      // A large tensor is one typed array whose numbers live outside the heap: cheap to keep,
      // dear to copy (Float32 to Float64 is not a plain copy).
      if (given.values.length <= SMALL_TENSOR) {
        kind = given.values instanceof Float32Array ? FLOAT : DOUBLE;
        held = given.columns;
        this.append(given.values);
      }
    } else {
      const names = this.appendLookedUp(given, rows);
      if (names) {
        kind = DOUBLE;
        held = names;
      }
    }
    const flags = (entry.canary ? CANARY : 0) | (entry.shadow ? SHADOW : 0);
    this.meta.push(entry.timestamp, entry.latencyMs, flags, rows, start, kind);
    this.requestIds.push(entry.requestId);
    this.models.push(entry.model);
    this.versions.push(entry.version);
    this.inputs.push(held);
    this.rows += rows;
  }

  private append(values: ArrayLike<number>): void {
    this.reserve(values.length);
    if (ArrayBuffer.isView(values)) this.numbers.set(values, this.used);
    else for (let k = 0; k < values.length; k++) this.numbers[this.used + k] = values[k];
    this.used += values.length;
  }

  /** Room for `more` numbers after the used ones. */
  private reserve(more: number): void {
    if (this.used + more <= this.numbers.length) return;
    const grown = new Float64Array(Math.max(this.numbers.length * 2, this.used + more));
    grown.set(this.numbers.subarray(0, this.used));
    this.numbers = grown;
  }

  /**
   * Copies looked-up inputs (key columns first) row-major when every value is a number or
   * missing, in one pass, and answers their columns' names: the request before's array when the
   * names are the same, so requests share one. Answers undefined, keeping nothing, otherwise.
   */
  private appendLookedUp(inputs: LookedUp, rows: number): readonly string[] | undefined {
    const sources = [...Object.entries(inputs.keys ?? {}), ...inputs.byColumn];
    const width = sources.length;
    this.reserve(rows * width);
    for (let j = 0; j < width; j++) {
      const column = sources[j][1];
      for (let r = 0; r < rows; r++) {
        const v = column[r];
        // Written past `used`, which moves only once every value fits: a text value leaves nothing.
        if (typeof v === 'number') this.numbers[this.used + r * width + j] = v;
        else if (v === null || v === undefined) this.numbers[this.used + r * width + j] = Number.NaN;
        else return undefined;
      }
    }
    this.used += rows * width;
    const last = this.lastNames;
    if (last.length === width && sources.every(([name], j) => name === last[j])) return last;
    this.lastNames = sources.map(([name]) => name);
    return this.lastNames;
  }

  private trim(): void {
    while (this.rows > this.max && this.head < this.requestIds.length) {
      const rows = this.meta[this.head * STRIDE + 3];
      this.inputs[this.head] = [];
      this.head++;
      this.rows -= rows;
      this.onDrop(rows);
    }
    if (this.head > 1024 && this.head * 2 > this.requestIds.length) this.compact();
  }

  /** Drops the slots of requests already dropped, moving the kept ones' numbers to the front. */
  private compact(): void {
    const from = this.head;
    const count = this.requestIds.length;
    const shift = from < count ? this.meta[from * STRIDE + 4] : this.used;
    this.numbers.copyWithin(0, shift, this.used);
    this.used -= shift;
    for (let i = from; i < count; i++) this.meta[i * STRIDE + 4] -= shift;
    this.meta = this.meta.slice(from * STRIDE);
    this.requestIds = this.requestIds.slice(from);
    this.models = this.models.slice(from);
    this.versions = this.versions.slice(from);
    this.inputs = this.inputs.slice(from);
    this.head = 0;
  }

  private clear(): void {
    this.meta = [];
    this.requestIds = [];
    this.models = [];
    this.versions = [];
    this.inputs = [];
    // Room for what the last one held, so a steady load does not grow each buffer again.
    this.numbers = new Float64Array(Math.min(Math.max(INITIAL_NUMBERS, this.used), MAX_START_NUMBERS));
    this.used = 0;
    this.head = 0;
    this.rows = 0;
  }
}
