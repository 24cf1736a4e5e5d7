/**
 * @module tracking/names
 * Names for what nobody named: runs and logged models get a friendly random one, like MLflow's
 * `bright-fox-123`.
 */
import { shortId } from '../core/index.js';

const ADJECTIVES = ['bright', 'calm', 'bold', 'keen', 'quick', 'steady', 'sharp', 'quiet', 'brave', 'clever'];
const NOUNS = ['fox', 'owl', 'hare', 'lynx', 'wren', 'seal', 'crane', 'otter', 'heron', 'finch'];

export function randomName(): string {
  const n = Number.parseInt(shortId(2), 16);
  return `${ADJECTIVES[n % 10]}-${NOUNS[Math.floor(n / 10) % 10]}-${n % 1000}`;
}
