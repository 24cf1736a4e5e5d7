/**
 * @module pipeline/plots
 * `keel plots show`: one HTML page (`dvc_plots/index.html`, as DVC writes) with a Vega-Lite chart
 * per plots file, built as DVC's templates build them (`linear`, `simple`, `scatter`, `smooth`,
 * `confusion`, `confusion_normalized`, `bar_horizontal`, `bar_horizontal_sorted`; each row gets
 * `rev: workspace`, and `step` when no `x` is given). Unlike DVC's page, which loads vega,
 * vega-lite and vega-embed from a CDN, the three libraries are inlined, so the page works offline.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { KeelError, writeFileAtomic } from '../core/index.js';
import { rootRelative } from './paths.js';
import { chartFor, parsePlotRows, type Row } from './plot-data.js';
import type { PlotSpec, Project } from './schema.js';

const TEMPLATES = new Set([
  'linear',
  'simple',
  'scatter',
  'smooth',
  'confusion',
  'confusion_normalized',
  'bar_horizontal',
  'bar_horizontal_sorted',
]);

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

const escapeHtml = (s: string): string =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/** The Vega-Lite spec DVC's template gives one plots file. */
export function vegaLiteSpec(
  file: string,
  rows: Row[],
  props: Record<string, unknown>,
): { template: string; spec: object } {
  const chart = chartFor(file, rows, props);
  const requested = typeof props.template === 'string' ? props.template : undefined;
  const template =
    requested && TEMPLATES.has(requested) ? requested : chart.kind === 'confusion' ? 'confusion' : 'linear';
  const x = typeof props.x === 'string' ? props.x : chart.kind === 'confusion' ? chart.x : 'step';
  const values = rows.map((r, i) => ({
    ...(typeof props.x === 'string' || chart.kind === 'confusion' ? {} : { step: i }),
    ...r,
    rev: 'workspace',
  }));
  const y = chart.y[0] ?? 'y';
  const xTitle = typeof props.x_label === 'string' ? props.x_label : x;
  const yTitle = typeof props.y_label === 'string' ? props.y_label : y;
  const base = {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    data: { values },
    title: typeof props.title === 'string' ? props.title : file,
    width: 300,
    height: 300,
  };
  if (template.startsWith('confusion')) {
    const normalized = template === 'confusion_normalized';
    return {
      template,
      spec: {
        ...base,
        facet: { field: 'rev', type: 'nominal' },
        spec: {
          transform: [
            { aggregate: [{ op: 'count', as: 'xy_count' }], groupby: [y, x] },
            ...(normalized
              ? [
                  { joinaggregate: [{ op: 'sum', field: 'xy_count', as: 'sum_y' }], groupby: [y] },
                  { calculate: 'datum.xy_count / datum.sum_y', as: 'percent_of_y' },
                ]
              : []),
          ],
          encoding: {
            x: { field: x, type: 'nominal', sort: 'ascending', title: xTitle },
            y: { field: y, type: 'nominal', sort: 'ascending', title: yTitle },
          },
          layer: [
            {
              mark: 'rect',
              width: 300,
              height: 300,
              encoding: {
                color: {
                  field: normalized ? 'percent_of_y' : 'xy_count',
                  type: 'quantitative',
                  title: '',
                  scale: { domainMin: 0, nice: true },
                },
              },
            },
            {
              mark: 'text',
              encoding: {
                text: {
                  field: normalized ? 'percent_of_y' : 'xy_count',
                  type: 'quantitative',
                  ...(normalized ? { format: '.2f' } : {}),
                },
                color: { condition: { test: 'datum.xy_count > 0', value: 'black' }, value: 'white' },
              },
            },
          ],
        },
      },
    };
  }
  if (template.startsWith('bar_horizontal')) {
    return {
      template,
      spec: {
        ...base,
        mark: { type: 'bar' },
        encoding: {
          x: { field: x, type: 'quantitative', title: xTitle },
          y: {
            field: y,
            type: 'nominal',
            title: yTitle,
            ...(template.endsWith('sorted') ? { sort: '-x' } : {}),
          },
          yOffset: { field: 'rev' },
          color: { field: 'rev', type: 'nominal' },
        },
      },
    };
  }
  const mark =
    template === 'scatter'
      ? { type: 'point', tooltip: { content: 'data' } }
      : { type: 'line', point: template !== 'simple', tooltip: { content: 'data' } };
  const layers = chart.y.map((field) => ({
    mark,
    encoding: {
      x: { field: x, type: 'quantitative', title: xTitle },
      y: { field, type: 'quantitative', title: yTitle, scale: { zero: false } },
      color: { datum: field, type: 'nominal' },
    },
    ...(template === 'smooth'
      ? { transform: [{ loess: field, on: x, groupby: ['rev'], bandwidth: 0.3 }] }
      : {}),
  }));
  return { template, spec: { ...base, layer: layers } };
}

let libraries: string | undefined;

/** A package's folder (its exports do not expose the browser builds, so they are read by path). */
function packageRoot(pkg: string): string {
  let dir = dirname(createRequire(import.meta.url).resolve(pkg));
  while (
    !existsSync(join(dir, 'package.json')) ||
    JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).name !== pkg
  ) {
    const up = dirname(dir);
    if (up === dir) throw new KeelError('INTERNAL_ERROR', `Cannot find the ${pkg} package`);
    dir = up;
  }
  return dir;
}

/** vega, vega-lite and vega-embed's browser builds, as inline scripts. */
function inlineLibraries(): string {
  if (libraries === undefined) {
    libraries = ['vega', 'vega-lite', 'vega-embed']
      .map((pkg) => {
        const file = join(packageRoot(pkg), 'build', `${pkg}.min.js`);
        return `<script type="text/javascript">${readFileSync(file, 'utf8').replaceAll('</script', '<\\/script')}</script>`;
      })
      .join('\n');
  }
  return libraries;
}

export interface PlotsResult {
  /** The HTML file written. */
  path: string;
  plots: Array<{ file: string; template: string; rows: number }>;
  /** Plots files named in dvc.yaml but not present. */
  missing: string[];
}

/** Renders every plots file into one HTML page (default `dvc_plots/index.html`). */
export function showPlots(project: Project, out?: string): PlotsResult {
  const path = join(resolve(project.root, out ?? 'dvc_plots'), 'index.html');
  const result: PlotsResult = { path, plots: [], missing: [] };
  const divs: string[] = [];
  for (const plot of plotFiles(project)) {
    const abs = join(project.root, plot.path);
    if (!existsSync(abs)) {
      result.missing.push(plot.path);
      continue;
    }
    const rows = parsePlotRows(readFileSync(abs, 'utf8'), plot.path);
    const { template, spec } = vegaLiteSpec(plot.path, rows, plot.props);
    const id = `plot_${plot.path.replace(/[^A-Za-z0-9]/g, '_')}`;
    result.plots.push({ file: plot.path, template, rows: rows.length });
    const json = JSON.stringify(spec).replaceAll('</', '<\\/');
    divs.push(
      `<div id="${escapeHtml(id)}"><script type="text/javascript">var spec = ${json};\nvegaEmbed('#${id}', spec);</script></div>`,
    );
  }
  writeFileAtomic(
    path,
    `<!DOCTYPE html>\n<html>\n<head>\n<meta charset="utf-8">\n<title>DVC Plot</title>\n${inlineLibraries()}\n<style>\ntable { border-spacing: 15px; }\n</style>\n</head>\n<body>\n${divs.join('\n')}\n</body>\n</html>\n`,
  );
  return result;
}
