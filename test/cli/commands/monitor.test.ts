/**
 * `keel monitor run | show | history | profile` as a user runs them, as child processes over a
 * project whose store holds a registered model and whose prediction log holds two hours of
 * traffic: the second hour drifts. Bad flags and a bad keel.yaml exit 2 naming what is wrong.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keel } from '../../helpers/cli.js';
import { logTraffic, type MonitoredWorld, monitoredWorld, rowsOf } from '../../monitoring/world.js';

const HOUR = 3_600_000;
const H = Date.UTC(2024, 4, 1, 0);
const iso = (ms: number) => new Date(ms).toISOString();

describe('keel monitor', () => {
  let world: MonitoredWorld;
  beforeAll(async () => {
    world = await monitoredWorld('sqlite', undefined, {
      keelYaml: "monitoring:\n  models:\n    churn: { window: 1h, schedule: '0 * * * *' }\n",
    });
    await logTraffic(world, [
      { at: H, rows: rowsOf(300, 11), prefix: 'a' },
      { at: H + HOUR, rows: rowsOf(300, 12, 1), prefix: 'b' },
    ]);
  }, 60_000);
  afterAll(async () => world?.close());
  const run = (args: string[]) => keel(args, { cwd: world.dir, env: world.env });

  it('runs the configured monitors over the window ending at --as-of, and stores each run', async () => {
    const clear = await run(['monitor', 'run', '--as-of', iso(H + HOUR), '--json']);
    expect(clear.code).toBe(0);
    const [first] = JSON.parse(clear.stdout);
    expect(first).toMatchObject({ model: 'churn', status: 'ok', rows: 300, breaches: [] });
    const drifted = await run(['monitor', 'run', '--model', 'churn', '--as-of', iso(H + 2 * HOUR)]);
    expect(drifted.code).toBe(0);
    expect(drifted.stdout).toMatch(
      /churn: window 2024-05-01 01:00:00 \.\. 2024-05-01 02:00:00 UTC \(1h\), 300 rows, ok/,
    );
    expect(drifted.stdout).toMatch(
      /psi tenure \(version 1\): [\d.]+ against 0\.2 \(PSI of 'tenure' over 300 values/,
    );
    expect(drifted.stdout).toMatch(/timings \(ms\): read [\d.]+, profile/);
    expect(drifted.stdout).toMatch(/ALERT FIRING \(1\): psi tenure of churn version 1: [\d.]+ against 0\.2/);
    const alerts = await run(['monitor', 'alerts']);
    expect(alerts.stdout).toMatch(/firing\s+churn\s+1\s+psi\s+tenure/);
    expect(alerts.stdout).toMatch(/every notification delivered/);
    const empty = await run([
      'monitor',
      'run',
      '--model',
      'churn',
      '--window',
      '2h',
      '--as-of',
      iso(H - HOUR),
      '--json',
    ]);
    expect(JSON.parse(empty.stdout)).toMatchObject({
      status: 'no_data',
      rows: 0,
      window: { start: H - 3 * HOUR },
    });

    const show = await run(['monitor', 'show', '--json']);
    expect(JSON.parse(show.stdout).map((r: { status: string }) => r.status)).toEqual(['no_data']);
    const history = await run(['monitor', 'history', '--model', 'churn']);
    expect(history.stdout.trim().split('\n')).toHaveLength(4);
    expect(history.stdout).toMatch(/psi tenure, psi spend/);
  });

  it("shows a version's reference profile", async () => {
    const res = await run(['monitor', 'profile', 'churn', '1']);
    expect(res.code).toBe(0);
    expect(res.stdout).toMatch(/reference profile of churn version 1: 2000 rows of .*training\.csv/);
    expect(res.stdout).toMatch(/baseline metrics: accuracy=0\.8000, roc_auc=0\.9000/);
    const json = JSON.parse((await run(['monitor', 'profile', 'churn', '1', '--json'])).stdout);
    expect(json.features[0]).toMatchObject({ name: 'tenure', sampleRows: 2000 });
    expect(json.features[0].sample).toBeUndefined();
  });

  it('refuses bad flags and a bad keel.yaml with exit 2, naming the flag or key', async () => {
    const window = await run(['monitor', 'run', '--model', 'churn', '--window', 'soon']);
    expect(window.code).toBe(2);
    expect(window.stderr).toMatch(/--window must be a duration/);
    const asOf = await run(['monitor', 'run', '--model', 'churn', '--as-of', 'someday']);
    expect(asOf.code).toBe(2);
    expect(asOf.stderr).toMatch(/--as-of must be an ISO date/);
    const dir = join(world.dir, 'bad');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(dir);
    writeFileSync(
      join(dir, 'keel.yaml'),
      'monitoring:\n  models:\n    churn: { thresholds: { psi: fast } }\n',
    );
    const yaml = await keel(['monitor', 'run'], { cwd: dir });
    expect(yaml.code).toBe(2);
    expect(yaml.stderr).toMatch(/monitoring: .*models\.churn\.thresholds\.psi/);
    // keel serve checks the same at start, before it listens.
    writeFileSync(join(dir, 'keel.yaml'), "monitoring:\n  models:\n    churn: { schedule: '0 25 * * *' }\n");
    const serve = await keel(['serve', '--port', '0'], { cwd: dir });
    expect(serve.code).toBe(2);
    expect(serve.stderr).toMatch(/models\.churn\.schedule: is not a valid cron expression/);
    writeFileSync(join(dir, 'keel.yaml'), 'monitoring:\n  scheduler: { tick: 20s, leaseTtl: 15s }\n');
    const lease = await keel(['serve', '--port', '0'], { cwd: dir });
    expect(lease.code).toBe(2);
    expect(lease.stderr).toMatch(/monitoring\.scheduler: tick \(20s\) must be shorter than leaseTtl \(15s\)/);
    writeFileSync(join(dir, 'keel.yaml'), 'log: { level: warn }\n');
    const none = await keel(['monitor', 'run'], { cwd: dir });
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/no model to monitor: give --model/);
  });
});
