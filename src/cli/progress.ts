/**
 * @module cli/progress
 * Draws ProgressEvents as one line on a TTY, rewritten in place at most every 100 ms.
 */
import type { ProgressEvent } from '../core/index.js';

export function createProgressRenderer(stream: NodeJS.WriteStream) {
  let last = 0;
  let shown = false;
  const draw = (e: ProgressEvent) => {
    const width = 30;
    const unit = e.unit ? ` ${e.unit}` : '';
    let line: string;
    if (e.total && e.total > 0) {
      const frac = Math.min(1, e.done / e.total);
      const filled = Math.round(frac * width);
      line = `${e.label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(frac * 100).toFixed(0)}% ${e.done}/${e.total}${unit}`;
    } else line = `${e.label} ${e.done}${unit}`;
    if (e.info) line += ` ${e.info}`;
    stream.write(`\r\x1b[2K${line.slice(0, (stream.columns || 120) - 1)}`);
    shown = true;
  };
  return {
    update(e: ProgressEvent) {
      const now = Date.now();
      if (now - last < 100 && !(e.total !== undefined && e.done >= e.total)) return;
      last = now;
      draw(e);
    },
    stop() {
      if (shown) stream.write('\n');
      shown = false;
    },
  };
}
