/**
 * @module pipeline/plots
 * `keel plots show`: one self-contained HTML page with an inline SVG chart per plots file
 * (a confusion matrix as a heat map, anything else as lines, e.g. a ROC curve). No scripts.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { writeFileAtomic } from '../core/index.js';
import { rootRelative } from './paths.js';
import { type ChartSpec, chartFor, parsePlotRows, type Row } from './plot-data.js';
import type { PlotSpec, Project } from './schema.js';

const W = 420;
const H = 320;
const PAD = 48;
const COLORS = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b'];

const esc = (s: unknown): string =>
  String(s).replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!,
  );

/** Every plots file: stage plots outputs, then top-level `plots` entries that name a file. */
export function plotFiles(project: Project): PlotSpec[] {
  const fromStages = project.stages.flatMap((s) =>
    s.outs
      .filter((o) => o.kind === 'plots')
      .map((o) => ({ path: rootRelative(s, o.path), props: o.plot ?? {} })),
  );
  const seen = new Set(fromStages.map((p) => p.path));
  return [...fromStages, ...project.plots.filter((p) => !seen.has(p.path))];
}

function confusionSvg(rows: Row[], spec: ChartSpec): string {
  const [ax, px] = [spec.x, spec.y[0]];
  const counts = new Map<string, number>();
  for (const r of rows) {
    const key = `${r[ax]}\u0000${r[px]}`;
    counts.set(key, (counts.get(key) ?? 0) + (typeof r.count === 'number' ? r.count : 1));
  }
  const labels = [...new Set(rows.flatMap((r) => [String(r[ax]), String(r[px])]))].sort();
  const max = Math.max(1, ...counts.values());
  const size = (Math.min(W, H) - PAD * 2) / Math.max(1, labels.length);
  const cells = labels.flatMap((a, i) =>
    labels.map((p, j) => {
      const n = counts.get(`${a}\u0000${p}`) ?? 0;
      const x = PAD + j * size;
      const y = PAD + i * size;
      const shade = Math.round(255 - (n / max) * 200);
      return `<rect x="${x}" y="${y}" width="${size}" height="${size}" fill="rgb(${shade},${shade},255)" stroke="#fff"/><text x="${x + size / 2}" y="${y + size / 2}" text-anchor="middle" dominant-baseline="middle">${n}</text>`;
    }),
  );
  const axis = labels.flatMap((l, i) => [
    `<text x="${PAD + i * size + size / 2}" y="${PAD - 6}" text-anchor="middle">${esc(l)}</text>`,
    `<text x="${PAD - 6}" y="${PAD + i * size + size / 2}" text-anchor="end" dominant-baseline="middle">${esc(l)}</text>`,
  ]);
  const names = `<text x="${W / 2}" y="14" text-anchor="middle">${esc(px)}</text><text x="12" y="${H / 2}" transform="rotate(-90 12 ${H / 2})" text-anchor="middle">${esc(ax)}</text>`;
  return [...cells, ...axis, names].join('');
}

function linearSvg(rows: Row[], spec: ChartSpec): string {
  const xs = rows.map((r, i) => (typeof r[spec.x] === 'number' ? (r[spec.x] as number) : i));
  const ys = spec.y.flatMap((c) => rows.map((r) => r[c]).filter((v): v is number => typeof v === 'number'));
  const [x0, x1] = [Math.min(...xs), Math.max(...xs)];
  const [y0, y1] = [Math.min(0, ...ys), Math.max(1e-12, ...ys)];
  const sx = (v: number) => PAD + ((v - x0) / (x1 - x0 || 1)) * (W - PAD * 2);
  const sy = (v: number) => H - PAD - ((v - y0) / (y1 - y0 || 1)) * (H - PAD * 2);
  const lines = spec.y.map((c, k) => {
    const pts = rows
      .map((r, i) =>
        typeof r[c] === 'number' ? `${sx(xs[i]).toFixed(1)},${sy(r[c] as number).toFixed(1)}` : '',
      )
      .filter(Boolean)
      .join(' ');
    const color = COLORS[k % COLORS.length];
    return `<polyline fill="none" stroke="${color}" stroke-width="2" points="${pts}"/><text x="${W - PAD}" y="${H - PAD - 8 - 14 * k}" text-anchor="end" fill="${color}">${esc(c)}</text>`;
  });
  // A ROC curve is read against the chance line.
  const chance =
    spec.x === 'fpr' && spec.y[0] === 'tpr'
      ? `<line x1="${sx(0)}" y1="${sy(0)}" x2="${sx(1)}" y2="${sy(1)}" stroke="#999" stroke-dasharray="4 4"/>`
      : '';
  const frame =
    chance +
    `<line x1="${PAD}" y1="${H - PAD}" x2="${W - PAD}" y2="${H - PAD}" stroke="#333"/><line x1="${PAD}" y1="${PAD}" x2="${PAD}" y2="${H - PAD}" stroke="#333"/>`;
  const ticks = `<text x="${PAD}" y="${H - PAD + 16}" text-anchor="middle">${+x0.toPrecision(3)}</text><text x="${W - PAD}" y="${H - PAD + 16}" text-anchor="middle">${+x1.toPrecision(3)}</text><text x="${PAD - 6}" y="${H - PAD}" text-anchor="end">${+y0.toPrecision(3)}</text><text x="${PAD - 6}" y="${PAD}" text-anchor="end">${+y1.toPrecision(3)}</text><text x="${W / 2}" y="${H - 8}" text-anchor="middle">${esc(spec.x)}</text>`;
  return frame + lines.join('') + ticks;
}

/** One chart as an SVG element. */
export function renderChart(rows: Row[], spec: ChartSpec): string {
  const body = spec.kind === 'confusion' ? confusionSvg(rows, spec) : linearSvg(rows, spec);
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="11" role="img" aria-label="${esc(spec.title)}">${body}</svg>`;
}

export interface PlotsResult {
  /** The HTML file written. */
  path: string;
  plots: Array<{ file: string; kind: ChartSpec['kind']; rows: number }>;
  /** Plots files named in dvc.yaml but not present. */
  missing: string[];
}

/** Renders every plots file into one HTML page (default `.keel/plots/index.html`). */
export function showPlots(project: Project, out?: string): PlotsResult {
  const path = resolve(project.root, out ?? join('.keel', 'plots', 'index.html'));
  const result: PlotsResult = { path, plots: [], missing: [] };
  const sections: string[] = [];
  for (const plot of plotFiles(project)) {
    const abs = join(project.root, plot.path);
    if (!existsSync(abs)) {
      result.missing.push(plot.path);
      continue;
    }
    const rows = parsePlotRows(readFileSync(abs, 'utf8'), plot.path);
    const spec = chartFor(plot.path, rows, plot.props);
    result.plots.push({ file: plot.path, kind: spec.kind, rows: rows.length });
    sections.push(`<section><h2>${esc(spec.title)}</h2>${renderChart(rows, spec)}</section>`);
  }
  writeFileAtomic(
    path,
    `<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>Keel plots</title><style>body{font-family:sans-serif;margin:2em}section{display:inline-block;margin:1em;vertical-align:top}h2{font-size:1em}</style></head><body><h1>Plots</h1>${sections.join('\n')}</body></html>\n`,
  );
  return result;
}
