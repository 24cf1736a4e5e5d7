/**
 * @module features/online-cache
 * An in-process cache in front of an online store (Redis): the records a read returns, by view
 * and entity key, kept `ttlMs` and within `maxBytes`, the least recently read dropped first. A
 * read takes what is cached and fresh, and reads the rest from the store in one call. Absent
 * records are not cached: a new entity is served as soon as it is written. A write through this
 * store drops the keys it writes; a write by another process shows up to `ttlMs` late, which is
 * the trade the setting makes (off unless keel.yaml gives it).
 */
import type { OnlineCacheConfig } from '../core/index.js';
import type { OnlineRecord, OnlineStore, OnlineWriteRow } from './online-store.js';

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
}

export class CachedOnlineStore implements OnlineStore {
  readonly type: OnlineStore['type'];
  /** Insertion order is recency: a hit moves its entry to the end. */
  private readonly entries = new Map<string, Entry>();
  private bytes = 0;
  private readonly maxBytes: number;
  private readonly counts = { hits: 0, misses: 0, evictions: 0 };

  constructor(
    private readonly inner: OnlineStore,
    private readonly config: OnlineCacheConfig,
    private readonly now: () => number = Date.now,
  ) {
    this.type = inner.type;
    this.maxBytes = config.maxBytes ?? DEFAULT_CACHE_BYTES;
  }

  stats(): OnlineCacheStats {
    return { ...this.counts, entries: this.entries.size, bytes: this.bytes, maxBytes: this.maxBytes };
  }

  async onlineRead(
    view: string,
    keys: readonly string[],
    // Whole records only: a record cut to some features must not answer a read of others.
    _features?: readonly string[],
  ): Promise<(OnlineRecord | undefined)[]> {
    const now = this.now();
    const out: (OnlineRecord | undefined)[] = new Array(keys.length);
    const missing: string[] = [];
    const missingAt: number[] = [];
    for (let i = 0; i < keys.length; i++) {
      const id = cacheId(view, keys[i]);
      const entry = this.entries.get(id);
      if (entry && entry.expires > now) {
        this.entries.delete(id);
        this.entries.set(id, entry);
        out[i] = entry.record;
        this.counts.hits++;
        continue;
      }
      if (entry) this.drop(id, entry);
      missing.push(keys[i]);
      missingAt.push(i);
      this.counts.misses++;
    }
    if (missing.length === 0) return out;
    const read = await this.inner.onlineRead(view, missing);
    const expires = this.now() + this.config.ttlMs;
    for (let m = 0; m < missing.length; m++) {
      const record = read[m];
      out[missingAt[m]] = record;
      if (record) this.put(cacheId(view, missing[m]), record, expires);
    }
    return out;
  }

  async onlineWrite(view: string, rows: readonly OnlineWriteRow[]): Promise<number> {
    for (const row of rows) this.forget(cacheId(view, row.entityKey));
    return this.inner.onlineWrite(view, rows);
  }

  async deleteView(view: string): Promise<void> {
    const prefix = cacheId(view, '');
    for (const [id, entry] of this.entries) if (id.startsWith(prefix)) this.drop(id, entry);
    await this.inner.deleteView(view);
  }

  ping(): Promise<void> {
    return this.inner.ping();
  }

  async close(): Promise<void> {
    this.entries.clear();
    this.bytes = 0;
    await this.inner.close();
  }

  private put(id: string, record: OnlineRecord, expires: number): void {
    const bytes = ENTRY_OVERHEAD + 2 * (id.length + record.payload.length);
    // A record larger than the whole cache is served, never kept.
    if (bytes > this.maxBytes) return;
    this.forget(id);
    this.entries.set(id, { record, expires, bytes });
    this.bytes += bytes;
    for (const [oldest, entry] of this.entries) {
      if (this.bytes <= this.maxBytes) break;
      this.drop(oldest, entry);
      this.counts.evictions++;
    }
  }

  private forget(id: string): void {
    const entry = this.entries.get(id);
    if (entry) this.drop(id, entry);
  }

  private drop(id: string, entry: Entry): void {
    this.entries.delete(id);
    this.bytes -= entry.bytes;
  }
}

const cacheId = (view: string, key: string) => `${view}\u0000${key}`;
