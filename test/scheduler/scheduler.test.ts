/**
 * The scheduler on a real store: only the lease holder runs jobs; each due window of a monitor is
 * run once, across a restart and a takeover, with none skipped; a run whose process died is run
 * again by the next holder; a retraining schedule runs its latest missed time once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/index.js';
import { Scheduler } from '../../src/scheduler/index.js';
import { logTraffic, type MonitoredWorld, monitoredWorld, rowsOf, writeRecipe } from '../monitoring/world.js';

const HOUR = 3_600_000;
const H = Date.UTC(2024, 4, 1, 0);

describe('the scheduler', () => {
  const clock = new ManualClock(H + 10 * 60_000);
  const leaseClock = new ManualClock(0);
  let world: MonitoredWorld;
  const scheduler = (holder: string) =>
    new Scheduler({ monitoring: world.monitoring, holder, clock, leaseClock, settings: { grace: 60_000 } });

  beforeAll(async () => {
    world = await monitoredWorld('sqlite', undefined, {
      clock,
      keelYaml: [
        'monitoring:',
        '  models:',
        '    churn:',
        '      window: 1h',
        '      checks: [drift]',
        "      retrain: { recipe: { train: train.yaml }, triggers: { schedule: '30 */6 * * *' } }",
      ].join('\n'),
    });
    writeRecipe(world.dir);
    await logTraffic(world, [
      { at: H, rows: rowsOf(100, 1), prefix: 'a' },
      { at: H + HOUR, rows: rowsOf(100, 2), prefix: 'b' },
      { at: H + 2 * HOUR, rows: rowsOf(100, 3), prefix: 'c' },
      { at: H + 3 * HOUR, rows: rowsOf(100, 4), prefix: 'd' },
    ]);
  }, 60_000);
  afterAll(async () => world?.close());

  it('starts a job from its latest due time, then runs every due window once; a second server runs nothing', {
    timeout: 120_000,
  }, async () => {
    const one = scheduler('one');
    await one.init();
    const two = scheduler('two');
    expect(await one.tick()).toEqual([]); // origins: the schedules start here
    clock.set(H + 3 * HOUR + 2 * 60_000);
    leaseClock.advance(1000);
    const ran = await one.tick();
    // The retraining schedule (every 6 h at :30, its origin yesterday 18:30) was due at 00:30.
    expect(ran).toEqual([
      { job: 'monitor:churn', due: H + HOUR, status: 'done' },
      { job: 'monitor:churn', due: H + 2 * HOUR, status: 'done' },
      { job: 'monitor:churn', due: H + 3 * HOUR, status: 'done' },
      { job: 'retrain:churn', due: H + HOUR / 2, status: 'done' },
    ]);
    expect(await two.tick()).toEqual([]);
    const runs = await world.monitoring.runs.history('churn');
    expect(runs.map((r) => [r.window.end, r.cause, r.rows])).toEqual([
      [H + 3 * HOUR, 'schedule', 100],
      [H + 2 * HOUR, 'schedule', 100],
      [H + HOUR, 'schedule', 100],
    ]);
    expect((await one.status()).jobs).toEqual([
      { id: 'monitor:churn', lastDue: H + 3 * HOUR, lastStatus: 'done' },
      { id: 'retrain:churn', lastDue: H + HOUR / 2, lastStatus: 'done' },
    ]);
    await one.stop();
    await world.monitoring.retrainer.idle();
  });

  it('after a restart and a takeover neither repeats nor skips a due window, and reruns an interrupted one', async () => {
    // "one" stopped (its lease released); a new process takes over, hours later.
    const three = scheduler('three');
    clock.set(H + 5 * HOUR + 2 * 60_000);
    // A run that a dead process had claimed for 4h.
    await world.registry.tracking.db.run(
      "INSERT INTO scheduler_runs (job, due_at, status, holder, started_at) VALUES ('monitor:churn', ?, 'running', 'dead', ?)",
      [H + 4 * HOUR, H + 4 * HOUR],
    );
    const ran = await three.tick();
    expect(ran.filter((r) => r.job === 'monitor:churn')).toEqual([
      { job: 'monitor:churn', due: H + 4 * HOUR, status: 'done' },
      { job: 'monitor:churn', due: H + 5 * HOUR, status: 'done' },
    ]);
    const ends = (await world.monitoring.runs.history('churn')).map((r) => r.window.end);
    expect(new Set(ends).size).toBe(ends.length);
    expect(ends).toEqual([5, 4, 3, 2, 1].map((h) => H + h * HOUR));
    expect(await three.tick()).toEqual([]);
    await three.stop();
  });

  it('runs a missed retraining schedule once, at its latest due time', async () => {
    const four = scheduler('four');
    // Due at 06:30 and 12:30 since it last ran (00:30): the latest only.
    clock.set(H + 13 * HOUR);
    const ran = await four.tick();
    expect(ran.filter((r) => r.job === 'retrain:churn')).toEqual([
      { job: 'retrain:churn', due: H + 12.5 * HOUR, status: 'done' },
    ]);
    await world.monitoring.retrainer.idle();
    const [retraining, first] = await world.monitoring.retrainings.history('churn');
    expect(first).toMatchObject({ cause: 'schedule', evidence: { due: H + HOUR / 2 } });
    expect(retraining).toMatchObject({
      cause: 'schedule',
      requestedBy: 'scheduler',
      status: 'succeeded',
      evidence: { due: H + 12.5 * HOUR },
    });
    await four.stop();
  }, 120_000);
});
