/**
 * The demo's loop on the real Online Retail data, in process (the retraining's recipe runs as a
 * child `keel train`): the training period raises no alert, the first drift is caught in the
 * window that holds it, the drift trigger retrains, and the new version is staged and serves a
 * canary share. The replay stops after the first retraining's canary has served a week.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/core/index.js';
import {
  type ChurnLoopResult,
  formatLoopEvent,
  LOOP_MODEL,
  type LoopEvent,
  loopSummary,
  runChurnDemo,
  runChurnLoop,
} from '../../src/demo/index.js';
import { Monitoring } from '../../src/monitoring/index.js';
import { tempDir } from '../helpers/tracking.js';

const DAY = 86_400_000;
const week = (iso: string) => Date.parse(`${iso}T00:00:00Z`);

describe('keel demo --loop', () => {
  const cwd = tempDir();
  const config = loadConfig({ cwd, env: {} });
  let loop: ChurnLoopResult;
  const events: LoopEvent[] = [];

  beforeAll(async () => {
    const demo = await runChurnDemo(config);
    loop = await runChurnLoop(config, {
      version: demo.registry.version,
      partition: demo.ingest.partition,
      features: demo.training.features,
      until: '2011-10-03',
      onEvent: (e) => events.push(e),
    });
  }, 300_000);
  afterAll(() => undefined);

  it('replays every invoice through /predict and posts each label once its 90 days are over', () => {
    expect(loop.reference).toMatchObject({ from: '2011-03-01', until: '2011-07-01', rows: 5418 });
    expect(loop.windows).toHaveLength(26);
    expect(loop.windows.reduce((n, w) => n + w.rows, 0)).toBe(loop.replay.rows);
    // Labels of April to early July invoices have closed by the end of September.
    expect(loop.replay.labelsPosted).toBeGreaterThan(3000);
    expect(loop.performance.length).toBeGreaterThan(2);
    for (const c of loop.performance.filter((x) => x.labelled === 1000))
      expect(c.rocAuc).toBeGreaterThan(0.7);
  });

  it('raises no alert in the training period, and catches the first drift in the window that holds it', () => {
    expect(loop.trainingPeriodAlerts).toBe(0);
    const first = loop.firstDrift;
    expect(first?.window.start).toBe(week('2011-09-19'));
    expect(first?.window.fired.map((a) => `${a.rule} ${a.subject}`)).toEqual(['psi days_since_last_order']);
    expect(first?.delayMs).toBe(7 * DAY + 60_000);
    // Every earlier week is quiet.
    for (const w of loop.windows.filter((x) => x.end <= week('2011-09-19'))) expect(w.fired).toEqual([]);
  });

  it('retrains on the drift, stages the new version and gives it a canary share', async () => {
    const [r] = loop.retrainings;
    expect(r).toMatchObject({
      model: LOOP_MODEL,
      cause: 'drift',
      status: 'succeeded',
      requestedBy: 'monitor',
    });
    expect(r.result).toMatchObject({
      version: '2',
      promotion: { stage: 'Staging', status: 'promoted' },
      canary: { alias: 'challenger', version: '2' },
    });
    expect(r.result.productionGates?.map((g) => g.kind)).toContain('canary');
    const after = loop.windows.filter((w) => w.start >= week('2011-09-26'));
    expect(after.every((w) => w.canaryRows > 0)).toBe(true);
    const monitoring = await Monitoring.open(config);
    try {
      const v2 = await monitoring.registry.versions.get(LOOP_MODEL, 2);
      expect(v2.current_stage).toBe('Staging');
      expect(v2.run_id).toBe(r.result.runId);
      expect(v2.tags).toContainEqual({ key: 'keel.retrain.cause', value: 'drift' });
      const alerts = await monitoring.alerts.list({ model: LOOP_MODEL, status: 'all' });
      expect(alerts.some((a) => a.rule === 'psi' && a.subject === 'days_since_last_order')).toBe(true);
    } finally {
      await monitoring.close();
    }
  });

  it('prints each week as it is judged, and what happened', () => {
    const text = events.map(formatLoopEvent).join('\n');
    expect(text).toMatch(/6\. The loop: replaying [\d,]+ invoices/);
    expect(text).toMatch(
      /2011-09-19 +\d+ +0 +days_since_last_order 0\.2\d\d .*ALERT psi days_since_last_order \(v1\); RETRAINED: version 2/,
    );
    const summary = loopSummary(loop);
    expect(summary).toMatch(/Training period \(13 weeks to 2011-07-04\): 0 alerts/);
    expect(summary).toMatch(
      /First drift: the week of 2011-09-19: psi on days_since_last_order = 0\.2\d\d against 0\.2; the alert fired at 2011-09-26 00:01 UTC, 7\.00 days after/,
    );
    expect(summary).toMatch(/registered version 2; Staging: promoted; alias 'challenger' now names it/);
  });
});
