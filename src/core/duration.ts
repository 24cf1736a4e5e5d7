/**
 * @module core/duration
 * Durations as people write them in flags and keel.yaml: `500ms`, `90s`, `30m`, `2h`, `1d`, `7d`.
 */
import { z } from 'zod';
import { KeelError } from './errors.js';

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/;

/** Whether `text` is a duration (`30m`, `2h`). */
export const isDuration = (text: string): boolean => DURATION.test(text.trim());

/**
 * A duration in ms.
 * @throws KeelError INVALID_PARAMETER_VALUE naming `what` when `text` is not a positive duration.
 */
export function parseDuration(text: string, what: string): number {
  const m = DURATION.exec(text.trim());
  const ms = m ? Number(m[1]) * UNITS[m[2]] : 0;
  if (!m || ms <= 0)
    throw new KeelError(
      'INVALID_PARAMETER_VALUE',
      `${what} must be a duration such as 500ms, 90s, 30m, 2h or 7d; got '${text}'`,
    );
  return ms;
}

/** A zod schema reading a duration text (keel.yaml) as ms; the issue names `what`. */
export const durationText = (what: string) =>
  z.string().transform((s, ctx) => {
    try {
      return parseDuration(s, what);
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: (err as Error).message });
      return z.NEVER;
    }
  });

/** ms as the shortest exact duration text (`3600000` is `1h`). */
export function formatDuration(ms: number): string {
  for (const unit of ['d', 'h', 'm', 's']) if (ms % UNITS[unit] === 0) return `${ms / UNITS[unit]}${unit}`;
  return `${ms / 1000}s`;
}
