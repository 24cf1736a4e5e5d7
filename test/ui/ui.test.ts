/// <reference lib="dom" />
/**
 * The web UI in a real browser (Debian's Chromium via playwright-core) against `keel serve --auth`
 * on loopback, over data made through the REST API: sign-in, the runs table (filter, sort,
 * columns, paging), a run with its metric charts and artifacts, a comparison, keyboard use, names
 * and contrast on every page; a served model with its canary and each version's requests.
 * Screenshots go to test-output/ui; figures are printed, not judged.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/core/index.js';
import { buildRepo, FeatureStore } from '../../src/features/index.js';
import { Registry } from '../../src/registry/index.js';
import { startServer } from '../../src/server/index.js';
import { launchChromium, lowContrast, screenshot, unnamedControls } from '../helpers/browser.js';
import { keel } from '../helpers/cli.js';
import { ORDERS_CSV } from '../helpers/data.js';
import { day, definitions, writeSources } from '../helpers/feature-repo.js';
import { requestJson } from '../helpers/server.js';
import { tempDir } from '../helpers/tracking.js';
import { trainedRun } from '../registry/fixtures.js';

const WAIT = { timeout: 60_000 };
const POLICY = `governance:
  stages:
    Production:
      requireApproval: true
      gates:
        - { kind: metric, metric: auc, op: '>=', value: 0.85 }
        - { kind: lineage }
`;

describe('web UI', () => {
  let server: Awaited<ReturnType<typeof startServer>>;
  let browser: Browser;
  const tokens: Record<string, string> = {};
  const runIds: Record<string, string> = {};
  let experimentId: string;
  let ingestChecks: string[] = [];
  let projectRoot: string;

  const call = async (method: string, path: string, body?: unknown, token = tokens.writer) => {
    const res = await requestJson(server.url, method, path, body, token);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return res.body as Record<string, never>;
  };

  /** A browser tab signed in with `token` (kept in the tab's session storage, as the sign-in form does). */
  async function pageAs(token: string): Promise<{ context: BrowserContext; page: Page }> {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    await context.addInitScript((t) => sessionStorage.setItem('keel.token', t), token);
    const page = await context.newPage();
    page.setDefaultTimeout(WAIT.timeout);
    return { context, page };
  }

  async function checkAccessible(page: Page) {
    expect(await unnamedControls(page)).toEqual([]);
    expect(await lowContrast(page)).toEqual([]);
  }

  beforeAll(async () => {
    const cwd = tempDir();
    projectRoot = cwd;
    writeFileSync(join(cwd, 'keel.yaml'), POLICY);
    const config = loadConfig({ cwd, env: {} });
    const registry = await Registry.open(config);
    for (const [user, role] of [
      ['rita', 'reader'],
      ['alice', 'writer'],
      ['bob', 'approver'],
    ] as const)
      tokens[role] = (await registry.tokens.create(user, role)).token;
    await registry.models.create('churn');
    for (const auc of [0.91, 0.88]) {
      const runId = await trainedRun(registry.tracking, { auc, disparate_impact: 0.9 });
      await registry.versions.create({ name: 'churn', source: `runs:/${runId}/model` });
    }
    await registry.close();
    // A feature repo applied and materialized in the same project, as keel features apply does.
    await writeSources(cwd);
    const features = new FeatureStore({ config });
    await features.applyRepo(buildRepo(definitions(cwd)));
    await features.materialize({ start: Date.parse(day(-1)), end: Date.parse(day(21)) });
    await features.close();
    // A two-stage DVC pipeline whose first stage has run (keel repro prepare) and second has not.
    writeFileSync(join(cwd, 'data.csv'), 'a,b\n1,2\n');
    writeFileSync(
      join(cwd, 'dvc.yaml'),
      [
        'stages:',
        '  prepare:',
        `    cmd: "cp data.csv prepared.csv && echo 'loss: 0.25' > metrics.yaml"`,
        '    deps: [data.csv]',
        '    outs: [prepared.csv]',
        '    metrics: [{ metrics.yaml: { cache: false } }]',
        '  train:',
        '    cmd: cp prepared.csv model.txt',
        '    deps: [prepared.csv]',
        '    outs: [model.txt]',
        '',
      ].join('\n'),
    );
    const repro = await keel(['repro', 'prepare'], { cwd });
    expect(repro.code, repro.stderr).toBe(0);
    // An accepted ingest of the offline store, whose checks the features page lists.
    writeFileSync(join(cwd, 'orders.csv'), `${ORDERS_CSV}\n`);
    writeFileSync(
      join(cwd, 'orders.yaml'),
      'columns:\n  - { name: id, type: int64, nullable: false }\n  - { name: qty, type: int64, min: 0 }\n' +
        '  - { name: price, type: float64 }\n  - { name: day, type: date }\n  - { name: note, type: string }\n' +
        '  - { name: active, type: bool }\nrules:\n  uniqueKey: [id]\n',
    );
    const ingested = await keel(['ingest', 'orders', 'orders.csv', '--schema', 'orders.yaml', '--json'], {
      cwd,
    });
    expect(ingested.code, ingested.stderr).toBe(0);
    ingestChecks = (JSON.parse(ingested.stdout) as { checks: Array<{ check: string }> }).checks.map(
      (c) => c.check,
    );
    // Version 1 serves, version 2 is its canary on half of the requests (a seeded draw).
    server = await startServer(config, {
      port: 0,
      host: '127.0.0.1',
      auth: true,
      scheduler: false,
      models: [{ uri: 'models:/churn/1', canary: { uri: 'models:/churn/2', percent: 50 } }],
      canarySeed: 7,
      refreshIntervalMs: 0,
    });

    experimentId = (await call('POST', '/api/2.0/mlflow/experiments/create', { name: 'churn-ui' }))
      .experiment_id;
    for (const [name, lr, depth, auc] of [
      ['lr-0.1', '0.1', '3', 0.81],
      ['lr-0.05', '0.05', '5', 0.86],
      ['lr-0.01', '0.01', '8', 0.79],
    ] as const) {
      const { run } = await call('POST', '/api/2.0/mlflow/runs/create', {
        experiment_id: experimentId,
        run_name: name,
        start_time: Date.now() - 60_000,
      });
      const id = (run as { info: { run_id: string; artifact_uri: string } }).info.run_id;
      runIds[name] = id;
      const t0 = Date.now() - 50_000;
      const loss = Array.from({ length: 200 }, (_, step) => ({
        key: 'loss',
        value: 1 / (1 + step * Number(lr)),
        timestamp: t0 + step * 100,
        step,
      }));
      await call('POST', '/api/2.0/mlflow/runs/log-batch', {
        run_id: id,
        params: [
          { key: 'lr', value: lr },
          { key: 'depth', value: depth },
        ],
        metrics: [...loss, { key: 'auc', value: auc, timestamp: t0, step: 0 }],
        tags: [
          { key: 'mlflow.source.git.commit', value: 'abc1234' },
          { key: 'team', value: 'growth' },
        ],
      });
      await call('POST', '/api/2.0/mlflow/runs/update', {
        run_id: id,
        status: 'FINISHED',
        end_time: Date.now(),
      });
      const root = (run as { info: { artifact_uri: string } }).info.artifact_uri.replace(
        'mlflow-artifacts:/',
        '',
      );
      for (const [file, body] of [
        ['notes.txt', `trained with lr=${lr}`],
        ['eval/confusion.csv', 'label,predicted,count\n0,0,50\n1,1,40\n'],
      ]) {
        const res = await fetch(`${server.url}/api/2.0/mlflow-artifacts/artifacts/${root}/${file}`, {
          method: 'PUT',
          headers: { authorization: `Bearer ${tokens.writer}` },
          body,
        });
        expect(res.status).toBe(200);
      }
    }
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('serves the page and its assets without a token, and the data only with one', async () => {
    const page = await fetch(`${server.url}/`);
    expect(page.status).toBe(200);
    const html = await page.text();
    const asset = /src="(\/ui\/assets\/[^"]+\.js)"/.exec(html)?.[1];
    expect(asset).toBeDefined();
    const script = await fetch(`${server.url}${asset}`);
    expect(script.headers.get('content-type')).toMatch(/javascript/);
    // Read to the end: an unread body keeps its connection busy, and the server's close waits for it.
    expect((await script.text()).length).toBeGreaterThan(0);
    expect((await fetch(`${server.url}/ui/..%2f..%2fpackage.json`)).status).toBe(404);
    expect((await requestJson(server.url, 'GET', '/api/2.0/keel/whoami')).status).toBe(401);
    expect(
      (await requestJson(server.url, 'GET', '/api/2.0/keel/whoami', undefined, tokens.reader)).body,
    ).toEqual({
      user: 'rita',
      role: 'reader',
      auth: true,
      permissions: ['read'],
    });
  });

  it('keel ui prints the address keel.yaml gives the server, or --url', async () => {
    const cwd = tempDir();
    writeFileSync(join(cwd, 'keel.yaml'), 'server: { host: 127.0.0.1, port: 5123 }\n');
    const out = await keel(['ui', '--json'], { cwd });
    expect(out.code, out.stderr).toBe(0);
    expect(JSON.parse(out.stdout)).toEqual({ url: 'http://127.0.0.1:5123/', opened: false });
    const given = await keel(['ui', '--url', server.url, '--no-open'], { cwd });
    expect(given.stdout.split('\n')[0]).toBe(`${server.url}/`);
    const bad = await keel(['ui', '--url', 'not a url', '--json'], { cwd });
    expect(bad.code).toBe(2);
    expect(bad.stdout + bad.stderr).toContain('--url is not a URL');
  });

  it('signs in with a token and lists, filters, sorts and pages the runs', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    page.setDefaultTimeout(WAIT.timeout);
    await page.goto(`${server.url}/`);
    await page.getByLabel('API token').fill(tokens.writer);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Runs' }).waitFor();
    await expect.poll(() => page.locator('[data-testid=runs-table] tbody tr').count(), WAIT).toBe(3);
    await page.getByText('alice (writer)').waitFor();
    const runs = await page.evaluate(() => performance.getEntriesByName('keel:runs').map((e) => e.duration));
    console.log(`runs page (3 runs): ${runs.at(-1)?.toFixed(1)} ms from request to table`);
    await checkAccessible(page);
    await screenshot(page, 'runs');

    // Sorting by a metric column: the server orders, the header says how.
    await page.getByRole('link', { name: 'metrics.auc' }).click();
    await expect
      .poll(() => page.locator('tbody tr td:nth-child(2)').allTextContents(), WAIT)
      .toEqual(['lr-0.01', 'lr-0.1', 'lr-0.05']);
    expect(await page.locator('th[aria-sort=ascending]').textContent()).toContain('metrics.auc');

    // Filtering in MLflow's language.
    await page.getByLabel('Filter (MLflow search syntax)').fill("params.depth = '5'");
    await page.getByRole('button', { name: 'Apply' }).click();
    await expect
      .poll(() => page.locator('tbody tr td:nth-child(2)').allTextContents(), WAIT)
      .toEqual(['lr-0.05']);
    // A filter the server refuses shows its message, not a blank page.
    await page.getByLabel('Filter (MLflow search syntax)').fill('metrics.auc >>> 1');
    await page.getByRole('button', { name: 'Apply' }).click();
    await page.getByRole('alert').waitFor();
    expect(await page.getByRole('alert').textContent()).toMatch(/400/);

    // Choosing columns: a tag column joins, a param column leaves.
    await page.goto(`${server.url}/#/runs?exp=${experimentId}`);
    await page.locator('summary', { hasText: 'Columns' }).click();
    await page.getByRole('checkbox', { name: 'params.depth' }).uncheck();
    await page.getByRole('checkbox', { name: 'tags.team' }).check();
    await expect.poll(() => page.locator('thead th').allTextContents(), WAIT).toContain('tags.team');
    expect(await page.locator('thead th').allTextContents()).not.toContain('params.depth');
    expect(await page.locator('tbody tr td:last-child').first().textContent()).toBe('growth');
    await context.close();
  });

  it('pages through the runs with the server', async () => {
    const { context, page } = await pageAs(tokens.reader);
    // 53 more runs: two pages of 50.
    for (let i = 0; i < 53; i++)
      await call('POST', '/api/2.0/mlflow/runs/create', {
        experiment_id: experimentId,
        run_name: `bulk-${i}`,
      });
    await page.goto(`${server.url}/#/runs?exp=${experimentId}`);
    await expect.poll(() => page.locator('tbody tr').count(), WAIT).toBe(50);
    await page.getByRole('button', { name: 'Next page' }).click();
    await expect.poll(() => page.locator('tbody tr').count(), WAIT).toBe(6);
    await page.getByRole('button', { name: 'Previous page' }).click();
    await expect.poll(() => page.locator('tbody tr').count(), WAIT).toBe(50);
    await context.close();
  });

  it('shows a run: params, charts of the full history, lineage, artifacts to view and download', async () => {
    const { context, page } = await pageAs(tokens.reader);
    await page.goto(`${server.url}/#/runs/${runIds['lr-0.1']}`);
    await page.getByRole('heading', { name: 'lr-0.1' }).waitFor();
    const chart = page.locator('figure.chart', { hasText: 'loss' }).locator('[data-points]');
    await chart.waitFor();
    expect(await chart.getAttribute('data-points')).toBe('200');
    expect(await page.locator('figure.chart canvas').count()).toBeGreaterThan(0);
    expect(await page.locator('table.kv', { hasText: 'Lineage' }).textContent()).toContain('abc1234');
    await page.getByLabel('Time').check();
    await chart.waitFor();
    await page.getByRole('button', { name: 'notes.txt' }).click();
    expect(await page.locator('pre').textContent()).toBe('trained with lr=0.1');
    const download = page.waitForEvent('download');
    await page.getByRole('link', { name: 'Download notes.txt' }).click();
    expect((await download).suggestedFilename()).toBe('notes.txt');
    await page.getByRole('button', { name: 'eval/' }).click();
    await page.getByRole('button', { name: 'confusion.csv' }).click();
    await expect.poll(() => page.locator('article table tbody tr').count(), WAIT).toBe(2);
    await checkAccessible(page);
    await screenshot(page, 'run');
    await context.close();
  });

  it('compares runs: params side by side, overlaid histories, parallel coordinates', async () => {
    const { context, page } = await pageAs(tokens.reader);
    await page.goto(
      `${server.url}/#/runs?exp=${experimentId}&filter=${encodeURIComponent("params.lr != ''")}`,
    );
    await expect.poll(() => page.locator('tbody tr').count(), WAIT).toBe(3);
    const compare = page.getByRole('button', { name: /^Compare/ });
    expect(await compare.isDisabled()).toBe(true);
    await page.getByRole('checkbox', { name: 'Select lr-0.1' }).check();
    await page.getByRole('checkbox', { name: 'Select lr-0.05' }).check();
    await compare.click();
    await page.getByRole('heading', { name: 'Compare 2 runs' }).waitFor();
    const lr = page
      .locator('table.compare tbody tr')
      .filter({ has: page.locator('th', { hasText: /^lr( \(differs\))?$/ }) });
    await expect.poll(() => lr.locator('td').allTextContents(), WAIT).toEqual(['0.1', '0.05']);
    expect(await lr.getAttribute('class')).toBe('differs');
    await page.getByLabel('Metric', { exact: true }).selectOption('loss');
    const overlay = page.locator('figure.chart', { hasText: 'loss by step' }).locator('[data-points]');
    await overlay.waitFor();
    await expect.poll(() => overlay.getAttribute('data-points'), WAIT).toBe('400');
    expect(await page.locator('svg polyline').count()).toBe(2);
    await checkAccessible(page);
    await screenshot(page, 'compare');
    await context.close();
  });

  it('shows models with their requests and gates; an approver approves, a reader sees no button', async () => {
    const asked = await requestJson(
      server.url,
      'POST',
      '/api/2.0/keel/registry/promote',
      { name: 'churn', version: '1', stage: 'Production', reason: 'best auc' },
      tokens.writer,
    );
    expect(asked.status, JSON.stringify(asked.body)).toBe(200);

    const reader = await pageAs(tokens.reader);
    await reader.page.goto(`${server.url}/#/models`);
    await reader.page.getByRole('link', { name: 'churn' }).click();
    await reader.page.getByRole('heading', { name: 'churn' }).waitFor();
    const request = reader.page.locator('article', { hasText: 'Request 1' });
    await request.waitFor();
    expect(await request.textContent()).toContain('pending');
    expect(await request.locator('.gates li').count()).toBe(2);
    await request.getByText('Evidence').first().click();
    expect(await request.locator('table.kv').first().textContent()).toContain('0.91');
    expect(await reader.page.getByRole('button', { name: /Approve/ }).count()).toBe(0);
    expect(await reader.page.getByRole('button', { name: /Reject/ }).count()).toBe(0);
    await checkAccessible(reader.page);
    await screenshot(reader.page, 'model-reader');
    await reader.context.close();

    const approver = await pageAs(tokens.approver);
    await approver.page.goto(`${server.url}/#/models/churn`);
    await approver.page.getByLabel('Reason for request 1').fill('gates pass, canary clean');
    await screenshot(approver.page, 'model-approver');
    await approver.page.getByRole('button', { name: 'Approve request 1' }).click();
    await expect
      .poll(() => approver.page.locator('article', { hasText: 'Request 1' }).textContent(), WAIT)
      .toContain('decided by bob');
    await expect
      .poll(() => approver.page.locator('tbody tr', { hasText: 'Production' }).first().textContent(), WAIT)
      .toMatch(/^1Production/);
    await expect
      .poll(() => approver.page.locator('table.audit tbody').textContent(), WAIT)
      .toContain('gates pass, canary clean');
    await checkAccessible(approver.page);
    await approver.context.close();
    const version = await requestJson(
      server.url,
      'GET',
      '/api/2.0/mlflow/model-versions/get?name=churn&version=1',
      undefined,
      tokens.reader,
    );
    expect(version.body).toMatchObject({ model_version: { current_stage: 'Production' } });
  });

  it('shows how a model is served: the canary share and each version requests, errors and latency', async () => {
    const scored = 40;
    for (let i = 0; i < scored; i++)
      await call('POST', '/invocations?model=churn', { inputs: [[i / 10, 1, -1]] }, tokens.reader);
    const figures = await call(
      'GET',
      '/api/2.0/keel/serving/deployments?model=churn&minutes=5',
      undefined,
      tokens.reader,
    );
    const versions = figures.versions as Array<{ version: string; requests: number; failed: number }>;
    expect(versions.map((v) => v.version)).toEqual(['1', '2']);
    expect(versions.reduce((n, v) => n + v.requests, 0)).toBe(scored);
    expect(versions.every((v) => v.requests > 0 && v.failed === 0)).toBe(true);
    expect(figures.served).toMatchObject({
      version: '1',
      canary: { version: '2', percent: 50, ready: true },
    });
    const unknown = await requestJson(
      server.url,
      'GET',
      '/api/2.0/keel/serving/deployments?model=nope',
      undefined,
      tokens.reader,
    );
    expect(unknown.status).toBe(404);
    expect(JSON.stringify(unknown.body)).toContain('nope');
    const bad = await requestJson(
      server.url,
      'GET',
      '/api/2.0/keel/serving/deployments?model=churn&minutes=0',
      undefined,
      tokens.reader,
    );
    expect(bad.status).toBe(400);

    const { context, page } = await pageAs(tokens.reader);
    await page.goto(`${server.url}/#/models/churn`);
    const canary = page.locator('[data-canary-percent]');
    await canary.waitFor();
    expect(await canary.getAttribute('data-canary-percent')).toBe('50');
    expect(await canary.textContent()).toContain('taking traffic');
    const rows = page.locator('table.deployments tbody tr');
    await expect.poll(() => rows.count(), WAIT).toBe(2);
    for (const v of versions) {
      const row = page.locator(`table.deployments tr[data-version="${v.version}"]`);
      expect(await row.locator('[data-requests]').getAttribute('data-requests')).toBe(String(v.requests));
      expect(await row.textContent()).toContain(v.version === '1' ? 'primary (50%)' : 'canary (50%)');
      expect(await row.textContent()).toMatch(/0%\d+(\.\d+)? ms/);
    }
    await checkAccessible(page);
    await screenshot(page, 'model-serving');
    await context.close();
  });

  it('shows the feature views with their freshness, entities and services', async () => {
    const { context, page } = await pageAs(tokens.reader);
    await page.goto(`${server.url}/#/features`);
    const activity = page.locator('tbody tr', { hasText: 'activity' }).first();
    await activity.waitFor();
    expect(await activity.textContent()).toContain('orders: int64, spend: float64');
    // Materialized up to day 21 (2024-01-22): that is when the online rows stop.
    expect(await activity.textContent()).toContain('2024-01-22 00:00:00');
    expect(await activity.textContent()).toMatch(/\d+ days/);
    expect(await page.locator('table', { hasText: 'Feature services' }).textContent()).toContain(
      'profile:tenure, activity:orders, activity:spend',
    );
    expect(await page.locator('table:has(caption:text-is("Entities"))').textContent()).toContain(
      'customer_id',
    );
    await checkAccessible(page);
    await screenshot(page, 'features');
    await context.close();
  });

  it('shows the datasets with each accepted ingest and the validation checks it passed', async () => {
    expect(ingestChecks.length).toBeGreaterThan(0);
    const missing = await requestJson(
      server.url,
      'GET',
      '/api/2.0/keel/datasets/get?name=nope',
      undefined,
      tokens.reader,
    );
    expect(missing.status).toBe(404);
    expect(String(missing.body.message)).toContain('orders');
    const { context, page } = await pageAs(tokens.reader);
    await page.goto(`${server.url}/#/features`);
    const orders = page.locator('[data-dataset=orders]');
    await orders.waitFor();
    expect(await orders.locator('header').textContent()).toContain('orders: 4 rows in 1 partition,');
    const ingest = orders.locator('table.ingests tbody tr');
    expect(await ingest.count()).toBe(1);
    expect(await ingest.textContent()).toContain('orders.csv');
    await ingest.locator('summary').click();
    expect(await ingest.locator('summary').textContent()).toBe(
      `${ingestChecks.length} of ${ingestChecks.length} passed`,
    );
    expect(await ingest.locator('li strong').allTextContents()).toEqual(ingestChecks);
    await checkAccessible(page);
    await screenshot(page, 'datasets');
    await context.close();
  });

  it('draws the pipeline DAG with each stage status against dvc.lock and its metrics', async () => {
    const { context, page } = await pageAs(tokens.reader);
    await page.goto(`${server.url}/#/pipelines`);
    await page.locator('[data-stage=train]').waitFor();
    expect(await page.locator('[data-stage=prepare]').textContent()).toContain('up to date');
    expect(await page.locator('[data-stage=train]').textContent()).toContain('changed');
    expect(await page.locator('figure.chart svg line').count()).toBe(1);
    const train = page.locator('table.stages tbody tr', { hasText: 'train' });
    expect(await train.textContent()).toContain('cp prepared.csv model.txt');
    // The metrics file prepare wrote, as keel metrics show reads it; train has none.
    const show = await keel(['metrics', 'show', '--json'], { cwd: projectRoot });
    expect(show.code, show.stderr).toBe(0);
    const loss = String(JSON.parse(show.stdout)[''].data['metrics.yaml'].data.loss);
    const metrics = page.locator('table.stages tbody tr', { hasText: 'prepare' }).locator('[data-metrics]');
    expect(await metrics.getAttribute('data-metrics')).toBe('metrics.yaml');
    expect(await metrics.locator('li').allTextContents()).toEqual([`loss: ${loss}`]);
    expect(await train.locator('[data-metrics]').count()).toBe(0);
    await checkAccessible(page);
    await screenshot(page, 'pipelines');
    await context.close();
  });

  it('navigates to every page from the menu', async () => {
    const { context, page } = await pageAs(tokens.reader);
    await page.goto(`${server.url}/`);
    for (const [link, heading] of [
      ['Models', 'Models'],
      ['Features', 'Features'],
      ['Pipelines', 'Pipelines'],
      ['Monitoring', 'Monitoring'],
      ['Runs', 'Runs'],
    ]) {
      await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: link }).click();
      await page.getByRole('heading', { name: heading, level: 1 }).waitFor();
      expect(await page.locator('[aria-current=page]').textContent()).toBe(link);
      expect(await page.getByRole('alert').count()).toBe(0);
      await checkAccessible(page);
    }
    await context.close();
  });

  it('works from the keyboard: skip link, navigation, links', async () => {
    const { context, page } = await pageAs(tokens.reader);
    await page.goto(`${server.url}/#/runs?exp=${experimentId}`);
    await page.locator('[data-testid=runs-table] tbody tr').first().waitFor();
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Skip to content');
    await page.keyboard.press('Enter');
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('main');
    // Tab reaches a run's link; Enter opens it.
    for (let i = 0; i < 40; i++) {
      await page.keyboard.press('Tab');
      if (await page.evaluate(() => document.activeElement?.getAttribute('href')?.startsWith('#/runs/')))
        break;
    }
    const target = await page.evaluate(() => document.activeElement?.getAttribute('href'));
    expect(target).toMatch(/^#\/runs\//);
    await page.keyboard.press('Enter');
    await expect.poll(() => page.evaluate(() => location.hash), WAIT).toBe(target);
    await context.close();
  });
});
