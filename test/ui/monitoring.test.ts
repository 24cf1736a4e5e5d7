/// <reference lib="dom" />
/**
 * The web UI's monitoring page in Chromium over real monitor runs: four hourly windows of logged
 * traffic scored by a Keel-trained model (the last two shifted, with labels), each judged by the
 * monitor and stored, then served by `keel serve`. The drift charts hold one point per window and
 * the latest window's table names the drifted features as the API does.
 */
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer } from '../../src/server/index.js';
import { launchChromium, lowContrast, screenshot, unnamedControls } from '../helpers/browser.js';
import { logTraffic, monitoredWorld, rowsOf } from '../monitoring/world.js';

const H = Date.UTC(2024, 0, 22, 0, 0);
const HOUR = 3_600_000;
const WINDOWS = 4;

describe('web UI: monitoring', () => {
  let server: Awaited<ReturnType<typeof startServer>>;
  let browser: Browser;

  beforeAll(async () => {
    const world = await monitoredWorld('sqlite', undefined, {
      keelYaml: 'monitoring:\n  models:\n    churn: { window: 1h }\n',
    });
    await logTraffic(
      world,
      Array.from({ length: WINDOWS }, (_, k) => ({
        at: H + k * HOUR,
        rows: rowsOf(300, 40 + k, k >= 2 ? 1 : 0),
        labels: true,
        prefix: `w${k}`,
      })),
    );
    for (let k = 1; k <= WINDOWS; k++)
      await world.monitoring.run('churn', { asOf: H + k * HOUR, retrain: false, deliver: false });
    await world.close();
    server = await startServer(world.config, { port: 0, host: '127.0.0.1', scheduler: false });
    browser = await launchChromium();
  }, 180_000);
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('draws drift per feature over the windows, with the verdicts of the latest window', async () => {
    const api = (await (
      await fetch(`${server.url}/api/2.0/keel/monitoring/runs?model=churn&max_results=100`)
    ).json()) as {
      runs: { versions: { features: { name: string; test: { drifted: boolean } | null }[] }[] }[];
    };
    expect(api.runs).toHaveLength(WINDOWS);
    const drifted = api.runs[0].versions[0].features.filter((f) => f.test?.drifted).map((f) => f.name);
    expect(drifted).toContain('tenure');

    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.setDefaultTimeout(60_000);
    await page.goto(`${server.url}/#/monitoring`);
    await page.getByRole('link', { name: 'churn' }).click();
    await page.getByRole('heading', { name: 'Feature drift' }).waitFor();
    const tenure = page.locator('figure.chart', { hasText: 'Drift of tenure' }).locator('[data-points]');
    await tenure.waitFor();
    // The statistic and its threshold, one point per window each.
    expect(await tenure.getAttribute('data-points')).toBe(String(2 * WINDOWS));
    expect(await page.locator('figure.chart canvas').count()).toBeGreaterThanOrEqual(3);
    const verdicts = await page
      .locator('table.drift tbody tr')
      .evaluateAll((rows) =>
        rows
          .filter((r) => r.textContent?.endsWith('drift') && !r.textContent.endsWith('no drift'))
          .map((r) => r.querySelector('th')?.textContent),
      );
    expect(verdicts.sort()).toEqual([...drifted].sort());
    expect(await page.locator('figure.chart', { hasText: 'Realised performance' }).count()).toBe(1);
    expect(await page.locator('section', { hasText: 'Alerts' }).locator('tbody tr').count()).toBeGreaterThan(
      0,
    );
    expect(await unnamedControls(page)).toEqual([]);
    expect(await lowContrast(page)).toEqual([]);
    await screenshot(page, 'monitoring');
    await page.close();
  });
});
