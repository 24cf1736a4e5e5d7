/**
 * Parallel coordinates: one vertical axis per numeric column (params and metrics), one line per
 * run, each axis scaled to its own range. SVG, since compare shows at most ten runs.
 */
import { COLORS } from './palette';

export interface Line {
  label: string;
  values: Record<string, number | undefined>;
}

export function ParallelCoordinates({ axes, lines }: { axes: string[]; lines: Line[] }) {
  if (axes.length < 2) return <p>Parallel coordinates need two numeric params or metrics.</p>;
  const width = Math.max(480, axes.length * 140);
  const height = 280;
  const top = 30;
  const bottom = height - 30;
  const x = (i: number) => 60 + (i * (width - 120)) / (axes.length - 1);
  const ranges = axes.map((a) => {
    const vs = lines
      .map((l) => l.values[a])
      .filter((v): v is number => v !== undefined && Number.isFinite(v));
    return [Math.min(...vs), Math.max(...vs)] as const;
  });
  const y = (i: number, v: number) => {
    const [lo, hi] = ranges[i];
    return hi === lo ? (top + bottom) / 2 : bottom - ((v - lo) / (hi - lo)) * (bottom - top);
  };
  return (
    <figure class="chart">
      <figcaption>Parallel coordinates</figcaption>
      <svg
        viewBox={`0 0 ${width} ${height}`}
        width={width}
        height={height}
        style={{ maxWidth: '100%', height: 'auto' }}
        role="img"
        aria-label={`Parallel coordinates of ${lines.length} runs over ${axes.join(', ')}`}
      >
        {axes.map((a, i) => (
          <g key={a}>
            <line x1={x(i)} x2={x(i)} y1={top} y2={bottom} stroke="#57606a" />
            <text x={x(i)} y={top - 10} text-anchor="middle" font-size="12" fill="#1f2328">
              {a}
            </text>
            <text x={x(i) + 4} y={bottom + 16} font-size="11" fill="#57606a">
              {Number.isFinite(ranges[i][0]) ? ranges[i][0].toPrecision(3) : ''}
            </text>
            <text x={x(i) + 4} y={top + 4} font-size="11" fill="#57606a">
              {Number.isFinite(ranges[i][1]) ? ranges[i][1].toPrecision(3) : ''}
            </text>
          </g>
        ))}
        {lines.map((l, n) => {
          const points = axes
            .map((a, i) => (l.values[a] === undefined ? undefined : `${x(i)},${y(i, l.values[a] as number)}`))
            .filter(Boolean)
            .join(' ');
          return (
            <polyline
              key={l.label}
              points={points}
              fill="none"
              stroke={COLORS[n % COLORS.length]}
              stroke-width="2"
            >
              <title>{l.label}</title>
            </polyline>
          );
        })}
      </svg>
    </figure>
  );
}
