/**
 * The web UI at scale (issue 17): with 10,000 runs x 100 metrics in the store, how long the runs
 * page takes to show its first page sorted by a metric, and how long a chart of one metric's
 * 100,000 points takes to draw, in Debian's Chromium against `keel serve` on SQLite. Each figure
 * is the median of 5 loads in fresh tabs. Baselines in the same run: the runs/search request
 * alone (from Node), and the metric history's download alone, so the UI's own share shows.
 * Targets: the runs page under 300 ms, the chart under 200 ms.
 *
 * Run: npm run build && npx tsx bench/ui/pages.ts [--runs 10000] [--metrics 100] [--points 100000] [--json]
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BrowserContext } from 'playwright-core';
import { loadConfig } from '../../src/core/index.js';
import { Registry } from '../../src/registry/index.js';
import { startServer } from '../../src/server/index.js';
import { launchChromium } from '../../test/helpers/browser.js';
import { tempDir } from '../../test/helpers/temp.js';

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const RUNS = arg('runs', 10_000);
const METRICS = arg('metrics', 100);
const POINTS = arg('points', 100_000);
const REPEATS = 5;
const json = process.argv.includes('--json');
const log = (line: string) => json || console.error(line);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const cwd = tempDir('keel-ui-bench-');
writeFileSync(join(cwd, 'keel.yaml'), 'log: { level: error }\n');
const config = loadConfig({ cwd, env: {} });
const registry = await Registry.open(config);
const { runs, experiments } = registry.tracking;
const exp = await experiments.create('bench-ui');
log(`filling the store: ${RUNS} runs x ${METRICS} metrics, and one run with ${POINTS} points ...`);
const t0 = Date.now();
for (let r = 0; r < RUNS; r++) {
  const run = await runs.create({ experimentId: exp, runName: `run-${r}`, startTime: t0 + r });
  await runs.logBatch(run.info.run_id, {
    params: [
      { key: 'lr', value: String((r % 10) / 100) },
      { key: 'depth', value: String(r % 12) },
    ],
    metrics: Array.from({ length: METRICS }, (_, m) => ({
      key: `m${m}`,
      value: Math.sin(r * 7 + m),
      timestamp: t0,
      step: 0,
    })),
  });
  if (!json && r % 1000 === 999) log(`  ${r + 1} runs`);
}
const long = await runs.create({ experimentId: exp, runName: 'long-history', startTime: t0 + RUNS });
const longId = long.info.run_id;
for (let from = 0; from < POINTS; from += 1000)
  await runs.logBatch(longId, {
    metrics: Array.from({ length: Math.min(1000, POINTS - from) }, (_, i) => ({
      key: 'loss',
      value: 1 / (1 + (from + i) / 1000) + Math.random() * 0.01,
      timestamp: t0 + from + i,
      step: from + i,
    })),
  });
await registry.close();
log(`filled in ${((Date.now() - t0) / 1000).toFixed(0)} s`);

const server = await startServer(config, { port: 0, host: '127.0.0.1', scheduler: false });
const browser = await launchChromium();
try {
  const order = 'metrics.m7 DESC';
  const searchMs: number[] = [];
  for (let i = 0; i < REPEATS; i++) {
    const start = performance.now();
    const res = await fetch(`${server.url}/api/2.0/mlflow/runs/search`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ experiment_ids: [exp], order_by: [order], max_results: 50 }),
    });
    await res.json();
    searchMs.push(performance.now() - start);
  }
  const historyMs: number[] = [];
  for (let i = 0; i < REPEATS; i++) {
    const start = performance.now();
    const res = await fetch(
      `${server.url}/api/2.0/mlflow/metrics/get-history?run_id=${longId}&metric_key=loss&max_results=100000`,
    );
    await res.json();
    historyMs.push(performance.now() - start);
  }

  /** Loads the runs page in a new tab of `context`: ms from navigation to the table, and request to table. */
  const loadRuns = async (context: BrowserContext) => {
    const page = await context.newPage();
    await page.goto(`${server.url}/#/runs?exp=${exp}&order=${encodeURIComponent(order)}`);
    await page.locator('[data-testid=runs-table] tbody tr').nth(49).waitFor({ timeout: 120_000 });
    const [entry] = await page.evaluate(() =>
      performance.getEntriesByName('keel:runs').map((e) => ({ start: e.startTime, duration: e.duration })),
    );
    await page.close();
    // From the navigation's start (the page's time origin) to the table's first page on screen.
    return { page: entry.start + entry.duration, table: entry.duration };
  };
  // Cold: a new browser profile each time (assets downloaded and compiled). Warm: the assets
  // cached from an earlier visit, as a person coming back to the page has them.
  const cold: { page: number; table: number }[] = [];
  for (let i = 0; i < REPEATS; i++) {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    cold.push(await loadRuns(context));
    await context.close();
  }
  const warmContext = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  await loadRuns(warmContext);
  const warm: { page: number; table: number }[] = [];
  for (let i = 0; i < REPEATS; i++) warm.push(await loadRuns(warmContext));
  await warmContext.close();

  const chartMs: number[] = [];
  for (let i = 0; i < REPEATS; i++) {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await page.goto(`${server.url}/#/runs/${longId}`);
    await page.locator(`[data-points="${POINTS}"]`).waitFor({ timeout: 120_000 });
    const measures = await page.evaluate(() =>
      performance
        .getEntriesByName('keel:chart')
        .map((e) => ({ duration: e.duration, points: (e as PerformanceMeasure).detail?.points as number })),
    );
    chartMs.push(measures.find((m) => m.points === POINTS)?.duration ?? Number.NaN);
    await page.close();
  }

  const result = {
    runs: RUNS,
    metrics_per_run: METRICS,
    chart_points: POINTS,
    runs_page_warm_ms: median(warm.map((w) => w.page)),
    runs_page_cold_ms: median(cold.map((c) => c.page)),
    runs_request_to_table_ms: median(warm.map((w) => w.table)),
    baseline_runs_search_ms: median(searchMs),
    chart_draw_ms: median(chartMs),
    baseline_history_download_ms: median(historyMs),
  };
  if (json) console.log(JSON.stringify(result));
  else {
    console.log(`runs page, ${RUNS} runs x ${METRICS} metrics, sorted by ${order}, first 50:`);
    console.log(
      `  navigation to table ${result.runs_page_warm_ms.toFixed(0)} ms with the assets cached (target < 300), ${result.runs_page_cold_ms.toFixed(0)} ms in a new profile; request to table ${result.runs_request_to_table_ms.toFixed(0)} ms; runs/search alone ${result.baseline_runs_search_ms.toFixed(0)} ms`,
    );
    console.log(`chart of ${POINTS} points:`);
    console.log(
      `  draw ${result.chart_draw_ms.toFixed(0)} ms (target < 200); the history's download alone ${result.baseline_history_download_ms.toFixed(0)} ms`,
    );
  }
} finally {
  await browser.close();
  await server.close();
}
