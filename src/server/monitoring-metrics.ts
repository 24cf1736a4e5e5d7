/**
 * @module server/monitoring-metrics
 * The monitors' latest results as Prometheus gauges on `/metrics`, read from the database at
 * scrape time (one read per scrape, shared by every gauge), so every replica answers the same
 * figures whichever of them ran the monitor:
 * `keel_monitor_last_run_timestamp_seconds{model}`, `keel_monitor_window_rows{model,version}`,
 * `keel_monitor_feature_psi{model,version,feature}`,
 * `keel_monitor_feature_missing_share{model,version,feature}`,
 * `keel_monitor_prediction_ks_pvalue{model,version}`,
 * `keel_monitor_performance{model,version,metric}`, `keel_monitor_breaches{model}`, and
 * `keel_alerts_firing{model,version,rule,subject}` (1 per firing alert).
 */
import { Gauge, type Registry } from 'prom-client';
import type { Monitoring, MonitorReport } from '../monitoring/index.js';

type Labels = Record<string, string>;
type Sample = [Labels, number];

export function monitoringGauges(registry: Registry, monitoring: Monitoring): void {
  let read: { at: number; reports: Promise<MonitorReport[]> } | undefined;
  // One database read serves all the gauges of a scrape.
  const latest = () => {
    const now = Date.now();
    if (!read || now - read.at > 1000) read = { at: now, reports: monitoring.runs.latest() };
    return read.reports;
  };
  const gauge = (name: string, help: string, labelNames: string[], samples: (r: MonitorReport) => Sample[]) =>
    new Gauge({
      name,
      help,
      labelNames,
      registers: [registry],
      // Every worker of a cluster reads the same database: its figures are told once, not summed.
      aggregator: 'first',
      async collect() {
        this.reset();
        for (const report of await latest().catch(() => [] as MonitorReport[]))
          for (const [labels, value] of samples(report)) this.set(labels, value);
      },
    });
  const perVersion = (r: MonitorReport) => r.versions.map((v) => ({ model: r.model, version: v.version, v }));
  gauge(
    'keel_monitor_last_run_timestamp_seconds',
    'When the latest monitor run of a model ended its window',
    ['model'],
    (r) => [[{ model: r.model }, r.window.end / 1000]],
  );
  gauge(
    'keel_monitor_window_rows',
    'Predictions logged in the latest monitor window',
    ['model', 'version'],
    (r) => perVersion(r).map(({ model, version, v }) => [{ model, version }, v.rows]),
  );
  gauge(
    'keel_monitor_feature_psi',
    "The seed's PSI of a feature in the latest window",
    ['model', 'version', 'feature'],
    (r) =>
      perVersion(r).flatMap(({ model, version, v }) =>
        v.features.flatMap((f): Sample[] =>
          f.psi === null ? [] : [[{ model, version, feature: f.name }, f.psi]],
        ),
      ),
  );
  gauge(
    'keel_monitor_feature_missing_share',
    'Share of missing values of a feature in the latest window',
    ['model', 'version', 'feature'],
    (r) =>
      perVersion(r).flatMap(({ model, version, v }) =>
        v.features.flatMap((f): Sample[] =>
          f.missingShare === null ? [] : [[{ model, version, feature: f.name }, f.missingShare]],
        ),
      ),
  );
  gauge(
    'keel_monitor_prediction_ks_pvalue',
    'p-value of the two-sample KS test of the scores against the reference in the latest window',
    ['model', 'version'],
    (r) =>
      perVersion(r).flatMap(({ model, version, v }): Sample[] =>
        v.prediction?.ks ? [[{ model, version }, v.prediction.ks.pValue]] : [],
      ),
  );
  gauge(
    'keel_monitor_performance',
    'Realised performance on the labelled rows of the latest window',
    ['model', 'version', 'metric'],
    (r) =>
      perVersion(r).flatMap(({ model, version, v }) =>
        Object.entries(v.performance?.metrics ?? {}).flatMap(([metric, value]): Sample[] =>
          value === null ? [] : [[{ model, version, metric }, value]],
        ),
      ),
  );
  new Gauge({
    name: 'keel_alerts_firing',
    help: 'Alerts firing now (1 each), by model, version, rule and subject',
    labelNames: ['model', 'version', 'rule', 'subject'],
    registers: [registry],
    aggregator: 'first',
    async collect() {
      this.reset();
      const firing = await monitoring.alerts.list({ status: 'firing', limit: 10_000 }).catch(() => []);
      for (const a of firing)
        this.set({ model: a.model, version: a.version, rule: a.rule, subject: a.subject }, 1);
    },
  });
  gauge('keel_monitor_breaches', 'Rules breached in the latest monitor run of a model', ['model'], (r) => [
    [{ model: r.model }, r.breaches.length],
  ]);
}
