/**
 * Alerts over real parts: monitor runs on a drifted window fire an alert once, a clean window
 * resolves it, a restart keeps its state; a signed webhook receiver and a real Alertmanager on
 * loopback get it, and destinations that are down are retried with the state kept.
 */
import { execFile } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/index.js';
import { alertSettings, Monitoring } from '../../src/monitoring/index.js';
import { signPayload } from '../../src/registry/index.js';
import { freePort, promTool, type RunningAlertmanager, startAlertmanager } from '../helpers/alertmanager.js';
import { serviceUrl } from '../helpers/services.js';
import { logTraffic, type MonitoredWorld, monitoredWorld, rowsOf } from './world.js';

const HOUR = 3_600_000;
const H = Date.UTC(2024, 4, 1, 0);
const SECRET = 'hook-secret';

interface Received {
  event: string;
  signature: string;
  body: string;
  json: { event: string; data: { id: number; rule: string; subject: string; status: string } };
}

/** A webhook receiver on loopback that answers 503 while `down`. */
async function receiver(port?: number) {
  const got: Received[] = [];
  const state = { down: false };
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => {
      body += d;
    });
    req.on('end', () => {
      if (state.down) {
        res.writeHead(503).end('down');
        return;
      }
      got.push({
        event: String(req.headers['x-keel-event']),
        signature: String(req.headers['x-keel-signature']),
        body,
        json: JSON.parse(body),
      });
      res.writeHead(204).end();
    });
  });
  const listen = port ?? (await freePort());
  await new Promise<void>((resolve) => server.listen(listen, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${listen}/hook`,
    port: listen,
    got,
    state,
    close: () => new Promise((r) => server.close(r)),
  };
}

const amAlerts = async (url: string) =>
  (await (await fetch(`${url}/api/v2/alerts`)).json()) as Array<{
    labels: Record<string, string>;
    endsAt: string;
  }>;

describe('alert destinations in keel.yaml', () => {
  it('default to the log, read secrets from the environment and name a bad key', () => {
    expect(alertSettings(undefined).destinations).toEqual([{ type: 'log', name: 'log' }]);
    const s = alertSettings(
      {
        destinations: [
          { type: 'webhook', url: 'http://h/x', secretEnv: 'S' },
          { type: 'alertmanager', url: 'http://am:9093/' },
        ],
      },
      { S: 'shh' },
    );
    expect(s.destinations).toEqual([
      { type: 'webhook', name: 'webhook:http://h/x', url: 'http://h/x', secret: 'shh' },
      { type: 'alertmanager', name: 'alertmanager:http://am:9093/', url: 'http://am:9093' },
    ]);
    expect(() =>
      alertSettings({ destinations: [{ type: 'webhook', url: 'http://h', secretEnv: 'NOPE' }] }, {}),
    ).toThrow(/destinations\.0\.secretEnv names NOPE, which is not set/);
    expect(() => alertSettings({ destinations: [{ type: 'pager' }] })).toThrow(/monitoring\.alerts/);
    expect(() => alertSettings({ destinations: [{ type: 'webhook', url: 'ftp://x' }] })).toThrow(
      /http or https/,
    );
    expect(() => alertSettings({ destinations: [{ type: 'log' }, { type: 'log' }] })).toThrow(
      /'log' is given twice/,
    );
  });
});

describe('Prometheus alert rules (deploy/prometheus)', async () => {
  const promtool = promTool('promtool');
  const rules = join(import.meta.dirname, '..', '..', 'deploy', 'prometheus');
  it.skipIf(!promtool)('pass promtool check and their unit tests', async () => {
    const run = promisify(execFile);
    const check = await run(promtool as string, ['check', 'rules', join(rules, 'keel-rules.yml')]);
    expect(check.stdout).toMatch(/SUCCESS: 5 rules found/);
    const test = await run(promtool as string, ['test', 'rules', join(rules, 'keel-rules.test.yml')]);
    expect(test.stdout).toMatch(/SUCCESS/);
  });
});

for (const backend of ['sqlite', 'postgres'] as const) {
  describe(`alert lifecycle and delivery (${backend})`, async () => {
    const pg = backend === 'postgres' ? await serviceUrl('postgres') : undefined;
    const binary = promTool('prometheus-alertmanager');
    const run = (backend === 'sqlite' || pg !== undefined) && binary !== undefined;
    const clock = new ManualClock(H + 2 * HOUR);
    let world: MonitoredWorld;
    let hook: Awaited<ReturnType<typeof receiver>>;
    let am: RunningAlertmanager | undefined;
    let amPort: number;

    beforeAll(async () => {
      if (!run) return;
      hook = await receiver();
      amPort = await freePort();
      // Alertmanager starts later: the first deliveries find it down.
      world = await monitoredWorld(backend, pg, {
        clock,
        keelYaml: [
          'monitoring:',
          '  models:',
          '    churn: { window: 1h, checks: [drift] }',
          '  alerts:',
          '    retry: { baseDelayMs: 1000, maxDelayMs: 4000 }',
          '    timeoutMs: 2000',
          '    destinations:',
          '      - { type: log }',
          `      - { type: webhook, url: '${hook.url}', secret: ${SECRET} }`,
          `      - { type: alertmanager, name: am, url: 'http://127.0.0.1:${amPort}' }`,
        ].join('\n'),
      });
      await logTraffic(world, [
        { at: H, rows: rowsOf(300, 21, 1), prefix: 'a' },
        { at: H + HOUR, rows: rowsOf(300, 22, 1), prefix: 'b' },
        { at: H + 2 * HOUR, rows: rowsOf(300, 23), prefix: 'c' },
      ]);
    }, 60_000);
    afterAll(async () => {
      await am?.stop();
      await hook?.close();
      await world?.close();
    });

    it.skipIf(!run)(
      'fires once when the drift starts, carrying its evidence; Alertmanager down is retried',
      async () => {
        const first = await world.monitoring.run('churn', { asOf: H + HOUR });
        expect(first.alerts.fired.map((a) => `${a.rule} ${a.subject}`)).toEqual(['psi tenure', 'psi spend']);
        const tenure = first.alerts.fired[0];
        expect(tenure).toMatchObject({
          model: 'churn',
          version: '1',
          status: 'firing',
          threshold: 0.2,
          startedAt: clock.now(),
        });
        expect(tenure.evidence).toMatchObject({
          runId: first.id,
          window: { start: H, end: H + HOUR },
          threshold: 0.2,
        });
        expect(tenure.evidence.value).toBeGreaterThan(0.2);
        // The webhook got both firings, signed; Alertmanager is down, so its two wait with an error.
        expect(hook.got.map((g) => `${g.event} ${g.json.data.subject}`)).toEqual([
          'alert.firing tenure',
          'alert.firing spend',
        ]);
        for (const g of hook.got) expect(g.signature).toBe(signPayload(SECRET, g.body));
        const waiting = await world.monitoring.notifier.pending();
        expect(waiting.map((n) => `${n.destination} ${n.kind} ${n.attempts}`)).toEqual([
          'am firing 1',
          'am firing 1',
        ]);
        expect(waiting[0].lastError).toMatch(/fetch failed|ECONNREFUSED/);

        // Still drifted an hour later: nothing fires again.
        clock.advance(HOUR);
        const second = await world.monitoring.run('churn', { asOf: H + 2 * HOUR });
        expect(second.alerts.fired).toEqual([]);
        expect(second.alerts.ongoing.map((a) => a.subject)).toEqual(['tenure', 'spend']);
        expect(hook.got).toHaveLength(2);
        expect(await world.monitoring.alerts.list()).toHaveLength(2);
      },
    );

    it.skipIf(!run)(
      'delivers to Alertmanager once it is up, and the alert reads back from its API',
      async () => {
        am = await startAlertmanager(binary as string, amPort);
        clock.advance(5000);
        const delivered = await world.monitoring.notifier.deliverDue();
        expect(delivered).toEqual({ delivered: 2, failed: 0 });
        expect(await world.monitoring.notifier.pending()).toEqual([]);
        const alerts = await amAlerts(am.url);
        expect(alerts.map((a) => a.labels.subject).sort()).toEqual(['spend', 'tenure']);
        expect(alerts[0].labels).toMatchObject({
          alertname: 'KeelFeatureDrift',
          model: 'churn',
          version: '1',
          rule: 'psi',
          source: 'keel',
        });
      },
    );

    it.skipIf(!run)('survives a restart, and resolves when the drift clears', async () => {
      // A new process on the same database: the firing alerts are there.
      const again = await Monitoring.open(world.config, { registry: world.registry, clock });
      expect((await again.alerts.list()).map((a) => a.subject).sort()).toEqual(['spend', 'tenure']);
      clock.advance(HOUR);
      const clean = await again.run('churn', { asOf: H + 3 * HOUR });
      expect(clean.alerts.resolved.map((a) => a.subject)).toEqual(['tenure', 'spend']);
      expect(clean.alerts.resolved[0]).toMatchObject({ status: 'resolved', resolvedAt: clock.now() });
      expect(clean.alerts.resolved[0].latest.value).toBeLessThan(0.2);
      expect(await again.alerts.list()).toEqual([]);
      expect((await again.alerts.list({ status: 'all' })).map((a) => a.status)).toEqual([
        'resolved',
        'resolved',
      ]);
      expect(hook.got.map((g) => g.event).slice(2)).toEqual(['alert.resolved', 'alert.resolved']);
      // Alertmanager took the resolution: the alerts are no longer active there.
      expect(await amAlerts((am as RunningAlertmanager).url)).toEqual([]);
      // An empty window resolves nothing and fires nothing: "no data" is not "clear".
      const empty = await again.run('churn', { asOf: H + 30 * HOUR });
      expect(empty.status).toBe('no_data');
      expect(empty.alerts).toEqual({ fired: [], resolved: [], ongoing: [] });
      await again.close();
    });

    it.skipIf(!run)(
      'keeps a notification whose webhook is down, retrying with backoff until it takes it',
      async () => {
        hook.state.down = true;
        await logTraffic(world, [{ at: H + 3 * HOUR, rows: rowsOf(300, 24, 1), prefix: 'd' }]);
        clock.advance(HOUR);
        const drifted = await world.monitoring.run('churn', { asOf: H + 4 * HOUR });
        expect(drifted.alerts.fired).toHaveLength(2);
        const after = await world.monitoring.notifier.pending();
        expect(after.filter((n) => n.destination === `webhook:${hook.url}`).map((n) => n.lastError)).toEqual([
          'the receiver answered 503',
          'the receiver answered 503',
        ]);
        // Not due yet: the backoff holds it.
        expect(await world.monitoring.notifier.deliverDue()).toEqual({ delivered: 0, failed: 0 });
        clock.advance(1000);
        expect(await world.monitoring.notifier.deliverDue()).toEqual({ delivered: 0, failed: 2 });
        hook.state.down = false;
        clock.advance(2000);
        expect(await world.monitoring.notifier.deliverDue()).toEqual({ delivered: 2, failed: 0 });
        expect(hook.got.slice(-2).map((g) => g.event)).toEqual(['alert.firing', 'alert.firing']);
        expect(await world.monitoring.notifier.pending()).toEqual([]);
      },
    );
  });
}
