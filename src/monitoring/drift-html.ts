/**
 * @module monitoring/drift-html
 * A self-contained HTML page for a drift result: the verdict, the table, and per column a small
 * inline SVG histogram of reference against current shares (Sturges bins over both samples for
 * numbers, the 20 most frequent reference ∪ current values for categories), with its axes
 * labelled: the share on y, the bin edges or category names on x. No script, no external file.
 */
import type { DatasetDrift, DriftTable } from './drift.js';
import { categoryCounts, histogram, type PairedCounts, sturgesEdges } from './stats/counts.js';

const MAX_CATEGORIES = 20;
const WIDTH = 360;
const HEIGHT = 120;
/** Room for the y-axis labels (left) and the x-axis labels (below). */
const LEFT = 40;
const BOTTOM = 46;

const escapeHtml = (text: string): string => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

const fmt = (x: number): string =>
  Number.isNaN(x) ? 'NaN' : Math.abs(x) >= 1e-3 || x === 0 ? x.toFixed(4) : x.toExponential(3);

interface Buckets extends PairedCounts {
  labels: string[];
  /** Numeric bins: their edges, labelled on the x axis instead of one name per bin. */
  edges?: Float64Array | number[];
}

function buckets(reference: DriftTable[string], current: DriftTable[string]): Buckets {
  if (reference instanceof Float64Array && current instanceof Float64Array) {
    const present = (v: Float64Array) => v.filter(Number.isFinite).sort();
    const ref = present(reference);
    const cur = present(current);
    const edges = sturgesEdges(ref, cur);
    const labels = Array.from(
      { length: edges.length - 1 },
      (_, i) => `${fmt(edges[i])} to ${fmt(edges[i + 1])}`,
    );
    return { reference: histogram(ref, edges), current: histogram(cur, edges), labels, edges };
  }
  const present = (v: DriftTable[string]) =>
    (v as Array<string | null>).filter((x): x is string => x != null);
  const ref = present(reference);
  const cur = present(current);
  const counts = categoryCounts(ref, cur);
  const names = [...new Set([...ref, ...cur])];
  const order = names
    .map((_, i) => i)
    .sort((a, b) => counts.reference[b] + counts.current[b] - (counts.reference[a] + counts.current[a]))
    .slice(0, MAX_CATEGORIES);
  return {
    reference: Float64Array.from(order, (i) => counts.reference[i]),
    current: Float64Array.from(order, (i) => counts.current[i]),
    labels: order.map((i) => names[i]),
  };
}

const clip = (text: string, n = 14) => (text.length > n ? `${text.slice(0, n - 1)}…` : text);
const tick = (x: number) =>
  Math.abs(x) >= 1e4 || (x !== 0 && Math.abs(x) < 1e-2)
    ? x.toExponential(1)
    : String(Number(x.toPrecision(4)));

function svg(b: Buckets): string {
  const share = (counts: Float64Array) => {
    const total = counts.reduce((s, c) => s + c, 0) || 1;
    return Array.from(counts, (c) => c / total);
  };
  const ref = share(b.reference);
  const cur = share(b.current);
  const top = Math.max(...ref, ...cur) || 1;
  const slot = WIDTH / b.labels.length;
  const bar = Math.max(slot / 2 - 1, 0.5);
  const rect = (i: number, value: number, offset: number, cls: string) => {
    const h = (value / top) * HEIGHT;
    return `<rect class="${cls}" x="${(LEFT + i * slot + offset).toFixed(2)}" y="${(HEIGHT - h).toFixed(2)}" width="${bar.toFixed(2)}" height="${h.toFixed(2)}"><title>${escapeHtml(b.labels[i])}: ${(value * 100).toFixed(1)}%</title></rect>`;
  };
  const bars = b.labels.map((_, i) => rect(i, ref[i], 0, 'ref') + rect(i, cur[i], bar, 'cur')).join('');
  const axes = `<line class="axis" x1="${LEFT}" y1="0" x2="${LEFT}" y2="${HEIGHT}"/><line class="axis" x1="${LEFT}" y1="${HEIGHT}" x2="${LEFT + WIDTH}" y2="${HEIGHT}"/>`;
  const yLabels = `<text class="tick" x="${LEFT - 4}" y="10" text-anchor="end">${(top * 100).toFixed(0)}%</text><text class="tick" x="${LEFT - 4}" y="${HEIGHT}" text-anchor="end">0%</text><text class="tick" transform="translate(10 ${HEIGHT / 2}) rotate(-90)" text-anchor="middle">share</text>`;
  let xLabels: string;
  if (b.edges) {
    // Numeric bins: the edges at both ends and in the middle of the axis.
    const n = b.edges.length - 1;
    const mid = Math.floor(n / 2);
    xLabels = [
      [0, 'start'],
      [mid, 'middle'],
      [n, 'end'],
    ]
      .map(
        ([i, anchor]) =>
          `<text class="tick" x="${(LEFT + (Number(i) / n) * WIDTH).toFixed(2)}" y="${HEIGHT + 14}" text-anchor="${anchor}">${escapeHtml(tick(Number(b.edges![Number(i)])))}</text>`,
      )
      .join('');
  } else {
    // Categories: each name under its bars, slanted to fit.
    xLabels = b.labels
      .map((label, i) => {
        const x = (LEFT + i * slot + slot / 2).toFixed(2);
        return `<text class="tick" transform="translate(${x} ${HEIGHT + 10}) rotate(-35)" text-anchor="end">${escapeHtml(clip(label))}</text>`;
      })
      .join('');
  }
  const width = LEFT + WIDTH + 8;
  const height = HEIGHT + BOTTOM;
  return `<svg viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img">${axes}${bars}${yLabels}${xLabels}</svg>`;
}

/** The report page for `result`, with histograms drawn from the tables it was computed on. */
export function driftReportHtml(
  result: DatasetDrift,
  reference: DriftTable,
  current: DriftTable,
  title = 'Data drift',
): string {
  const counted = result.columns.filter((c) => c.role === 'feature').length || result.columns.length;
  const verdict = `${result.driftedColumns} of ${counted} columns drifted (${(result.share * 100).toFixed(1)}%; the dataset drifts at ${(result.driftShare * 100).toFixed(1)}%)`;
  const rows = result.columns
    .map(
      (c) =>
        `<tr class="${c.drifted ? 'drift' : ''}"><td>${escapeHtml(c.column)}${c.role === 'feature' ? '' : ` <em>(${c.role}, not in the verdict)</em>`}</td><td>${c.type}</td><td>${c.test}</td><td>${c.note ? escapeHtml(c.note) : fmt(c.score)}</td><td>${c.threshold}</td><td>${c.drifted ? 'yes' : 'no'}</td><td>${c.reference.missing} / ${c.current.missing}</td><td>${svg(buckets(reference[c.column], current[c.column]))}</td></tr>`,
    )
    .join('\n');
  const skipped = (result.skipped ?? []).map((c) => `${escapeHtml(c.column)} (${c.role})`).join(', ');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<style>
body{font:14px system-ui,sans-serif;margin:2em;color:#222}
table{border-collapse:collapse}td,th{padding:4px 10px;border-bottom:1px solid #ddd;text-align:left;vertical-align:middle}
tr.drift td:first-child{font-weight:bold;color:#b00}
rect.ref{fill:#4a78c2}rect.cur{fill:#e8913a}
line.axis{stroke:#999;stroke-width:1}text.tick{font-size:10px;fill:#555}
.legend span{display:inline-block;width:10px;height:10px;margin:0 4px 0 12px}
</style></head><body>
<h1>${escapeHtml(title)}</h1>
<p><strong>${result.drifted ? 'Dataset drift detected' : 'No dataset drift'}</strong>: ${verdict}</p>
${skipped ? `<p>Not tested: ${skipped}.</p>\n` : ''}<p class="legend">shares per bin:<span style="background:#4a78c2"></span>reference<span style="background:#e8913a"></span>current</p>
<table><thead><tr><th>column</th><th>type</th><th>test</th><th>value</th><th>threshold</th><th>drifted</th><th>missing (ref / cur)</th><th>histogram</th></tr></thead>
<tbody>
${rows}
</tbody></table>
</body></html>
`;
}
