/**
 * @module features/online-cache
 * An in-process cache in front of an online store: the records a read returns, by view and entity
 * key, within `maxBytes`, the least recently read dropped first. A read takes what is cached and
 * valid, and reads the rest from the store in one call. Absent records are not cached: a new entity
 * is served as soon as it is written. A write through this store drops the keys it writes.
 *
 * What a write by another process does depends on the store:
 * - a store that tells when others changed it (`dataVersion`: SQLite) keeps the cache coherent: the
 *   cache is emptied when the version moves, so a read never sees a record older than the store held
 *   when the version was last looked at (at most once per event-loop turn);
 * - otherwise (Redis) a record is kept `ttlMs`, so another process's write shows up to `ttlMs` late,
 *   the trade `onlineStore.cache` makes there (off unless keel.yaml gives it).
 */
import type { OnlineCacheConfig } from '../core/index.js';
import type { OnlineRecord, OnlineStore, OnlineWriteRow, ViewRead } from './online-store.js';

/** Default memory bound: 64 MiB of cached records. */
export const DEFAULT_CACHE_BYTES = 64 * 1024 * 1024;
/** What an entry costs beyond its strings: the map slot, the record object, the timestamps. */
const ENTRY_OVERHEAD = 96;

export interface OnlineCacheStats {
  hits: number;
  misses: number;
  /** Entries dropped to stay within `maxBytes`. */
  evictions: number;
  entries: number;
  bytes: number;
  maxBytes: number;
}

interface Entry {
  record: OnlineRecord;
  expires: number;
  bytes: number;
  /** The map of its view, and its key there. */
  view: Map<string, Entry>;
  key: string;
  /** Read since it was last passed over for eviction (its second chance). */
  used: boolean;
  /** Still in its view's map; a dropped entry waits in `order` until it is skipped or compacted. */
  live: boolean;
}

export class CachedOnlineStore implements OnlineStore {
  readonly type: OnlineStore['type'];
  readonly keepsRecords = true;
  /**
   * Per view, its entries by entity key: a view's name and a key are looked up apart, so a key's
   * text (its hash computed once) serves every view of a read, and no id is built per lookup.
   */
  private readonly byView = new Map<string, Map<string, Entry>>();
  /**
   * Entries in the order they were kept, oldest from `head`: eviction takes the oldest that has
   * not been read since it was last passed over, and gives a read one another turn at the end
   * (CLOCK's second chance, near enough to least recently read, with a hit costing a flag rather
   * than a move in a map).
   */
  private order: Entry[] = [];
  private head = 0;
  /** Dropped entries still in `order`. */
  private dead = 0;
  private entryCount = 0;
  private bytes = 0;
  private readonly maxBytes: number;
  private readonly counts = { hits: 0, misses: 0, evictions: 0 };
  /** The store's data version when the cache was last emptied for it. */
  private version?: number;
  /**
   * Moves whenever what the store held may have changed under the cache (emptied for another
   * process's write, a write through this store): a read that was in flight across a move does not
   * fill the cache, since what it read may be older than the change.
   */
  private generation = 0;

  constructor(
    private readonly inner: OnlineStore,
    private readonly config: Partial<OnlineCacheConfig>,
    private readonly now: () => number = Date.now,
  ) {
    this.type = inner.type;
    this.maxBytes = config.maxBytes ?? DEFAULT_CACHE_BYTES;
  }

  stats(): OnlineCacheStats {
    return { ...this.counts, entries: this.entryCount, bytes: this.bytes, maxBytes: this.maxBytes };
  }

  onlineRead(
    view: string,
    keys: readonly string[],
    // Whole records only: a record cut to some features must not answer a read of others.
    _features?: readonly string[],
  ): Promise<(OnlineRecord | undefined)[]> {
    return this.onlineReadViews([{ view }], keys).then((found) => found[0]);
  }

  async onlineWrite(view: string, rows: readonly OnlineWriteRow[]): Promise<number> {
    this.generation++;
    const entries = this.byView.get(view);
    if (entries)
      for (const row of rows) {
        const entry = entries.get(row.entityKey);
        if (entry) this.drop(entry);
      }
    return this.inner.onlineWrite(view, rows);
  }

  async deleteView(view: string): Promise<void> {
    this.generation++;
    for (const entry of this.byView.get(view)?.values() ?? []) this.drop(entry);
    await this.inner.deleteView(view);
  }

  ping(): Promise<void> {
    return this.inner.ping();
  }

  async close(): Promise<void> {
    this.empty();
    await this.inner.close();
  }

  /**
   * Every view's records for the keys: the cached ones, and the keys any view lacks read from the
   * store in one call for every view (whole records, so that any later read can take them).
   */
  async onlineReadViews(
    reads: readonly ViewRead[],
    keys: readonly string[],
  ): Promise<(OnlineRecord | undefined)[][]> {
    this.followStore();
    const now = this.now();
    const out = reads.map(() => new Array<OnlineRecord | undefined>(keys.length));
    const maps = reads.map(({ view }) => this.byView.get(view));
    const missing: number[] = [];
    for (let i = 0; i < keys.length; i++) {
      let whole = true;
      for (let v = 0; v < reads.length; v++) {
        const entry = maps[v]?.get(keys[i]);
        if (entry && entry.expires > now) {
          entry.used = true;
          out[v][i] = entry.record;
          this.counts.hits++;
          continue;
        }
        if (entry) this.drop(entry);
        whole = false;
        this.counts.misses++;
      }
      if (!whole) missing.push(i);
    }
    if (missing.length === 0) return out;
    const generation = this.generation;
    const asked = reads.map(({ view }) => ({ view }));
    const missingKeys = missing.map((i) => keys[i]);
    const found = this.inner.onlineReadViews
      ? await this.inner.onlineReadViews(asked, missingKeys)
      : await Promise.all(asked.map(({ view }) => this.inner.onlineRead(view, missingKeys)));
    const keep = generation === this.generation;
    const expires =
      this.config.ttlMs === undefined ? Number.POSITIVE_INFINITY : this.now() + this.config.ttlMs;
    for (let v = 0; v < reads.length; v++) {
      for (let m = 0; m < missing.length; m++) {
        const record = found[v][m];
        out[v][missing[m]] = record;
        if (record && keep) this.put(reads[v].view, missingKeys[m], record, expires);
      }
    }
    return out;
  }

  /** Empties the cache when another process has changed the store since it was last looked at. */
  private followStore(): void {
    const version = this.inner.dataVersion?.();
    if (version === undefined || version === this.version) return;
    if (this.version !== undefined) this.empty();
    this.version = version;
  }

  private empty(): void {
    this.generation++;
    this.byView.clear();
    this.order = [];
    this.head = 0;
    this.dead = 0;
    this.entryCount = 0;
    this.bytes = 0;
  }

  private put(view: string, key: string, record: OnlineRecord, expires: number): void {
    const bytes = ENTRY_OVERHEAD + 2 * (view.length + key.length + record.payload.length);
    // A record larger than the whole cache is served, never kept.
    if (bytes > this.maxBytes) return;
    let entries = this.byView.get(view);
    if (!entries) {
      entries = new Map();
      this.byView.set(view, entries);
    }
    const old = entries.get(key);
    if (old) this.drop(old);
    const entry: Entry = { record, expires, bytes, view: entries, key, used: false, live: true };
    entries.set(key, entry);
    this.order.push(entry);
    this.entryCount++;
    this.bytes += bytes;
    while (this.bytes > this.maxBytes) {
      const oldest = this.order[this.head++];
      if (!oldest.live) {
        this.dead--;
        continue;
      }
      if (oldest.used) {
        oldest.used = false;
        this.order.push(oldest);
        continue;
      }
      this.drop(oldest);
      this.dead--;
      this.counts.evictions++;
    }
    this.compact();
  }

  private drop(entry: Entry): void {
    entry.live = false;
    entry.view.delete(entry.key);
    this.entryCount--;
    this.bytes -= entry.bytes;
    this.dead++;
  }

  /** Keeps `order` within twice the live entries: passed-over and dropped entries leave it. */
  private compact(): void {
    const waste = this.head + this.dead;
    if (waste < 1024 || waste < this.order.length / 2) return;
    this.order = this.order.slice(this.head).filter((entry) => entry.live);
    this.head = 0;
    this.dead = 0;
  }
}
