/**
 * @module core/clock
 * Time as a dependency, so tests can pin it. Milliseconds since the epoch everywhere.
 *
 * `systemClock` is the process's clock: the real time, unless the process moved it. `KEEL_NOW`
 * (an ISO time) starts it at that moment when the process starts, and `setProcessTime` moves it
 * later (a replay steps through history). Everything that stamps or judges time without being
 * given a clock (the prediction log, `/feedback`, the registry, monitors and schedules) reads
 * this one, so one override moves the whole process and nothing disagrees about "now".
 */
import { KeelError } from './errors.js';

export interface Clock {
  now(): number;
}

/** ms added to the real time; set from `KEEL_NOW` on first use, or by `setProcessTime`. */
let offset: number | undefined;

function processOffset(): number {
  if (offset === undefined) {
    const given = process.env.KEEL_NOW;
    offset = 0;
    if (given) offset = parseProcessTime(given) - Date.now();
  }
  return offset;
}

/**
 * An ISO time as ms since the epoch, for `KEEL_NOW`.
 * @throws KeelError INVALID_PARAMETER_VALUE naming KEEL_NOW when it is not a time.
 */
function parseProcessTime(value: string): number {
  const ms = Date.parse(value);
  if (Number.isNaN(ms))
    throw new KeelError(
      'INVALID_PARAMETER_VALUE',
      `KEEL_NOW must be an ISO-8601 time such as 2011-11-01T09:00:00Z; got '${value}'`,
    );
  return ms;
}

export const systemClock: Clock = {
  now: () => {
    // The offset first: its first read takes its own Date.now(), and a real time read before
    // that one would put the clock that many ms before KEEL_NOW (a loaded CI saw 4 ms).
    const ms = processOffset();
    return Date.now() + ms;
  },
};

/**
 * Moves the process's clock so that `systemClock.now()` reads `ms` now and runs on from there.
 * `undefined` puts it back on the real time (or on `KEEL_NOW` again).
 */
export function setProcessTime(ms: number | undefined): void {
  if (ms === undefined) {
    offset = undefined;
    return;
  }
  if (!Number.isFinite(ms))
    throw new KeelError(
      'INVALID_PARAMETER_VALUE',
      `the process time must be a finite number of ms, got ${ms}`,
    );
  offset = ms - Date.now();
}

/** A clock that only moves when told: for tests of TTLs, schedules and timestamps. */
export class ManualClock implements Clock {
  constructor(private t = 0) {}
  now(): number {
    return this.t;
  }
  set(ms: number): void {
    this.t = ms;
  }
  advance(ms: number): void {
    this.t += ms;
  }
}
