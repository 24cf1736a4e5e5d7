/**
 * runs/search at the UI's scale (issue 17): one experiment with 10,000 runs x 100 metrics, the
 * first page of 50 sorted by a metric, over HTTP against `keel serve`, on SQLite and PostgreSQL.
 * Baseline in the same run, on the same store: the ordering query as it was before the search was
 * reworked (a correlated subquery per run and sort key), alone, without hydration or HTTP.
 * The statement runs/search issues now is timed alone too. Each figure is the median of 7 requests after one warm-up. Target: well under the runs page's
 * 300 ms budget.
 *
 * Run: npx tsx bench/tracking/search.ts [--runs 10000] [--metrics 100] [--sqlite-only] [--json]
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalArtifactStore } from '../../src/artifacts/index.js';
import { Registry } from '../../src/registry/index.js';
import { buildApp } from '../../src/server/index.js';
import { openDatabase, type SqlDatabase } from '../../src/storage/index.js';
import { Tracking } from '../../src/tracking/index.js';
import { freshPostgresSchema } from '../../test/helpers/tracking.js';

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const RUNS = arg('runs', 10_000);
const METRICS = arg('metrics', 100);
const REPEATS = 7;
const PAGE = 50;
const json = process.argv.includes('--json');
const log = (line: string) => json || console.error(line);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** The pre-rework statement for `order_by: ['metrics.m7 DESC']`, the baseline. */
const BASELINE_SQL = `SELECT r.* FROM runs r WHERE r.experiment_id IN (?) AND r.lifecycle_stage = 'active'
  ORDER BY CASE WHEN (SELECT lm.value FROM latest_metrics lm WHERE lm.run_uuid = r.run_uuid AND lm.key = ?) IS NULL THEN 1 ELSE 0 END,
  (SELECT lm.value FROM latest_metrics lm WHERE lm.run_uuid = r.run_uuid AND lm.key = ?) DESC,
  r.start_time DESC, r.run_uuid ASC LIMIT ? OFFSET ?`;

/** The same ordering as runs/search states it now, alone, so the two statements compare directly. */
const currentSql = (db: SqlDatabase) => `SELECT r.* FROM runs r LEFT JOIN latest_metrics o0${
  db.dialect === 'sqlite' ? ' INDEXED BY latest_metrics_key' : ''
} ON o0.run_uuid = r.run_uuid AND o0.key = ?
  WHERE r.experiment_id IN (?) AND r.lifecycle_stage = 'active'
  ORDER BY CASE WHEN o0.is_nan = 1 THEN 1 WHEN o0.value IS NULL THEN 2 ELSE 0 END, o0.value DESC,
  r.start_time DESC, r.run_uuid ASC LIMIT ? OFFSET ?`;

async function time(fn: () => Promise<unknown>): Promise<number> {
  await fn();
  const out: number[] = [];
  for (let i = 0; i < REPEATS; i++) {
    const start = performance.now();
    await fn();
    out.push(performance.now() - start);
  }
  return median(out);
}

async function measure(label: string, tracking: Tracking, db: SqlDatabase) {
  await tracking.init();
  const exp = await tracking.experiments.create('bench-search');
  const t0 = Date.now();
  log(`${label}: filling ${RUNS} runs x ${METRICS} metrics ...`);
  for (let r = 0; r < RUNS; r++) {
    const run = await tracking.runs.create({ experimentId: exp, runName: `run-${r}`, startTime: t0 + r });
    await tracking.runs.logBatch(run.info.run_id, {
      params: [{ key: 'lr', value: String((r % 10) / 100) }],
      tags: [{ key: 'team', value: r % 2 ? 'a' : 'b' }],
      metrics: Array.from({ length: METRICS }, (_, m) => ({
        key: `m${m}`,
        // Some runs miss m7 and some have NaN, so the ordering's edge cases are in the page.
        value: m === 7 && r % 97 === 0 ? Number.NaN : Math.sin(r * 7 + m),
        timestamp: t0,
        step: 0,
      })).filter((x) => !(x.key === 'm7' && r % 89 === 0)),
    });
  }
  log(`  filled in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  // A settled store, as autovacuum leaves it: without this the figures catch autovacuum at work
  // on a million fresh rows, and plans made on the empty tables' estimates.
  if (db.dialect === 'postgres') await db.exec('VACUUM ANALYZE');
  const registry = new Registry(tracking);
  await registry.init();
  const app = await buildApp({ services: { tracking, registry }, logger: false });
  const base = await app.listen({ host: '127.0.0.1', port: 0 });
  const request = (body: object) => async () => {
    const res = await fetch(`${base}/api/2.0/mlflow/runs/search`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ experiment_ids: [exp], max_results: PAGE, ...body }),
    });
    if (!res.ok) throw new Error(`runs/search: HTTP ${res.status} ${await res.text()}`);
    return res.json();
  };
  try {
    return {
      backend: label,
      baseline_order_query_ms: await time(() => db.all(BASELINE_SQL, [exp, 'm7', 'm7', PAGE + 1, 0])),
      order_query_ms: await time(() => db.all(currentSql(db), ['m7', exp, PAGE + 1, 0])),
      search_by_metric_ms: await time(request({ order_by: ['metrics.m7 DESC'] })),
      search_two_pages_ms: await time(async () => {
        const first = (await request({ order_by: ['metrics.m7 ASC'] })()) as { next_page_token: string };
        return request({ order_by: ['metrics.m7 ASC'], page_token: first.next_page_token })();
      }),
      search_filtered_ms: await time(
        request({ filter: "metrics.m3 > 0 and params.lr = '0.05'", order_by: ['metrics.m7 DESC'] }),
      ),
      search_default_order_ms: await time(request({})),
    };
  } finally {
    await app.close();
  }
}

const dir = mkdtempSync(join(tmpdir(), 'keel-bench-search-'));
const results = [];
{
  const db = await openDatabase({ type: 'sqlite', path: join(dir, 'keel.db') });
  const tracking = new Tracking(db, new LocalArtifactStore(join(dir, 'a')));
  results.push(await measure('SQLite', tracking, db));
  await tracking.close();
}
if (!process.argv.includes('--sqlite-only')) {
  const pgUrl = process.env.KEEL_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
  const fresh = await freshPostgresSchema(pgUrl);
  const db = await openDatabase({ type: 'postgres', url: fresh.url });
  const tracking = new Tracking(db, new LocalArtifactStore(join(dir, 'b')));
  try {
    results.push(await measure('PostgreSQL', tracking, db));
  } finally {
    await tracking.close();
    await fresh.drop();
  }
}

if (json) console.log(JSON.stringify({ runs: RUNS, metrics_per_run: METRICS, page: PAGE, results }));
else {
  console.log(`runs/search, ${RUNS} runs x ${METRICS} metrics, first ${PAGE} (median of ${REPEATS}):`);
  for (const r of results) {
    console.log(
      `  ${r.backend}: sorted by metrics.m7 ${r.search_by_metric_ms.toFixed(0)} ms; its ordering query alone ${r.order_query_ms.toFixed(0)} ms against the old one (baseline) ${r.baseline_order_query_ms.toFixed(0)} ms, ${(r.baseline_order_query_ms / r.order_query_ms).toFixed(1)}x faster; two pages ${r.search_two_pages_ms.toFixed(0)} ms; filtered ${r.search_filtered_ms.toFixed(0)} ms; default order ${r.search_default_order_ms.toFixed(0)} ms`,
    );
  }
}
