/**
 * @module serving/traffic
 * Which side of a canary split a request goes to. A sticky split hashes the caller's key, so one
 * entity or client always lands on the same side, whatever version each side serves; otherwise
 * each request draws from a random source that tests seed.
 */

export interface SplitRule {
  /** Share of requests sent to the canary, 0 to 100. */
  percent: number;
  /** Route by a hash of the request's key, so a key stays on its side. */
  sticky: boolean;
}

/** A number in [0, 1): `Math.random` or a seeded generator's `next`. */
export type RandomSource = () => number;

/**
 * Where `key` falls on the 0..100 scale of model `name`: FNV-1a over the UTF-16 units, then
 * murmur3's finalizer, whose avalanche spreads keys that differ only in their last characters
 * (`customer-17`, `customer-18`). The model name is hashed too, so a key is not on the canary of
 * every model at once.
 */
export function stickyPoint(name: string, key: string): number {
  let h = 0x811c9dc5;
  const text = `${name}\u0000${key}`;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return ((h >>> 0) % 10_000) / 100;
}

/**
 * Whether this request goes to the canary. A sticky rule without a key falls back to a random
 * draw, as there is nothing to keep the caller on.
 */
export function toCanary(
  rule: SplitRule,
  name: string,
  key: string | undefined,
  random: RandomSource,
): boolean {
  if (rule.percent <= 0) return false;
  if (rule.percent >= 100) return true;
  const point = rule.sticky && key !== undefined ? stickyPoint(name, key) : random() * 100;
  return point < rule.percent;
}
