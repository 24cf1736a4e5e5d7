/**
 * @module features/time
 * Timestamps at the edges: entity rows, pushes and CLI options may give a Date, epoch ms or an
 * ISO-8601 string; inside, everything is ms since the epoch, UTC.
 */
import { invalid } from '../core/index.js';

/** Milliseconds since the epoch from a Date, a number of ms, or an ISO-8601 string (UTC if no zone). */
export function toEpochMs(value: unknown, what: string): number {
  let ms = Number.NaN;
  if (value instanceof Date) ms = value.getTime();
  else if (typeof value === 'number') ms = value;
  else if (typeof value === 'string') {
    const s =
      /[zZ]|[+-]\d\d:?\d\d$/.test(value) || !/\d[ T]\d/.test(value) ? value : `${value.replace(' ', 'T')}Z`;
    ms = Date.parse(s);
  }
  if (!Number.isFinite(ms)) throw invalid(`${what} is not a timestamp: ${JSON.stringify(value)}`);
  return ms;
}
