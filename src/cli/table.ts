/**
 * @module cli/table
 * Plain-text tables and times for human output.
 */
export function formatTable(headers: string[], rows: string[][]): string {
  if (rows.length === 0) return '(none)';
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n');
}

/** ms since the epoch as `YYYY-MM-DD HH:MM:SS` UTC. */
export const formatTime = (ms: number): string => new Date(ms).toISOString().replace('T', ' ').slice(0, 19);
