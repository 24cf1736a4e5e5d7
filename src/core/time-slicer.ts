/**
 * @module core/time-slicer
 * Long work on the server's thread cut into slices of time: a loop asks `due()` per unit of work
 * and, when it says so, awaits `turn()`, a turn of the event loop in which other requests are
 * answered. Slicing by time rather than by a fixed count of rows keeps the turns few when the
 * machine is fast and the stalls short when it is loaded.
 */
import { setImmediate as nextTurn } from 'node:timers/promises';

export class TimeSlicer {
  private last = performance.now();
  private count = 0;

  /**
   * @param sliceMs most time between two turns.
   * @param checkEvery units of work between two looks at the clock.
   */
  constructor(
    private readonly sliceMs = 10,
    private readonly checkEvery = 256,
  ) {}

  /** Whether the slice is spent (looks at the clock every `checkEvery` calls). */
  due(): boolean {
    if (++this.count % this.checkEvery !== 0) return false;
    return performance.now() - this.last >= this.sliceMs;
  }

  /** Takes a turn of the event loop and starts a new slice. */
  async turn(): Promise<void> {
    await nextTurn();
    this.last = performance.now();
  }
}
