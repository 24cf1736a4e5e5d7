/**
 * @module core/bounded-cache
 * A cache for values keyed by what callers choose (a header, a list of refs, an SQL text): it
 * holds at most `max` entries and starts over empty when full. Simpler than LRU, and enough where
 * the keys in use are few and a miss only costs the work the cache saves.
 */
export class BoundedCache<K, V> {
  private readonly entries = new Map<K, V>();

  constructor(private readonly max: number) {}

  get(key: K): V | undefined {
    return this.entries.get(key);
  }

  set(key: K, value: V): void {
    if (this.entries.size >= this.max && !this.entries.has(key)) this.entries.clear();
    this.entries.set(key, value);
  }

  /** The value cached for `key`, made by `make` and cached on a miss. */
  getOrMake(key: K, make: (key: K) => V): V {
    let value = this.entries.get(key);
    if (value === undefined) {
      value = make(key);
      this.set(key, value);
    }
    return value;
  }

  clear(): void {
    this.entries.clear();
  }
}
