/**
 * Line charts drawn by uPlot (canvas, made for hundreds of thousands of points). Several series on
 * their own x values are joined on one x axis. Each draw is measured (`performance.measure`
 * named `keel:chart`), which the browser test and the bench read.
 */
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { COLORS } from './palette';

export interface Series {
  label: string;
  xs: Float64Array | number[];
  ys: Float64Array | (number | null)[];
}

export function LineChart({
  title,
  series,
  xLabel,
  time = false,
  height = 240,
}: {
  title: string;
  series: Series[];
  xLabel: string;
  time?: boolean;
  height?: number;
}) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = box.current;
    if (!el || series.length === 0) return;
    const started = performance.now();
    const data =
      series.length === 1
        ? ([series[0].xs, series[0].ys] as uPlot.AlignedData)
        : uPlot.join(series.map((s) => [s.xs, s.ys] as uPlot.AlignedData));
    const points = series.reduce((n, s) => n + s.xs.length, 0);
    let drawn = false;
    const plot = new uPlot(
      {
        width: Math.max(300, el.clientWidth),
        height,
        // uPlot draws after the constructor returns: the first draw ends the measure.
        hooks: {
          draw: [
            () => {
              if (drawn) return;
              drawn = true;
              performance.measure('keel:chart', {
                start: started,
                end: performance.now(),
                detail: { title, points },
              });
              el.dataset.points = String(points);
            },
          ],
        },
        scales: { x: { time } },
        axes: [{ label: xLabel }, {}],
        series: [
          { label: xLabel },
          ...series.map((s, i) => ({
            label: s.label,
            stroke: COLORS[i % COLORS.length],
            width: 1.5,
            spanGaps: true,
          })),
        ],
      },
      data,
      el,
    );
    const resize = new ResizeObserver(() => plot.setSize({ width: Math.max(300, el.clientWidth), height }));
    resize.observe(el);
    return () => {
      resize.disconnect();
      plot.destroy();
    };
  }, [series, time, xLabel, height, title]);
  return (
    <figure class="chart">
      <figcaption>{title}</figcaption>
      <div ref={box} role="img" aria-label={`${title}: ${series.map((s) => s.label).join(', ')}`} />
    </figure>
  );
}
