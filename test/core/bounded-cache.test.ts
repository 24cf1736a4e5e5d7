/** The bounded cache: a value made once per key, and never more entries than its bound. */
import { describe, expect, it } from 'vitest';
import { BoundedCache } from '../../src/core/index.js';

describe('BoundedCache', () => {
  it('makes a value once per key, and starts over empty when a new key finds it full', () => {
    const cache = new BoundedCache<string, number>(2);
    const made: string[] = [];
    const make = (key: string) => {
      made.push(key);
      return key.length;
    };
    expect(cache.getOrMake('a', make)).toBe(1);
    expect(cache.getOrMake('a', make)).toBe(1);
    expect(cache.getOrMake('bb', make)).toBe(2);
    expect(made).toEqual(['a', 'bb']);
    // Full: setting a key it holds keeps the others; a new key empties it first.
    cache.set('a', 9);
    expect([cache.get('a'), cache.get('bb')]).toEqual([9, 2]);
    expect(cache.getOrMake('ccc', make)).toBe(3);
    expect([cache.get('a'), cache.get('bb'), cache.get('ccc')]).toEqual([undefined, undefined, 3]);
    cache.clear();
    expect(cache.get('ccc')).toBeUndefined();
  });
});
