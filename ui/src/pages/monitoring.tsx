/**
 * Monitoring: per model, every monitor window's drift per feature (the test, its score against
 * the threshold, the verdict), prediction drift, realised performance once labels arrive, latency
 * p50/p95/p99, throughput and errors; the open and resolved alerts and the retraining history.
 */
import { api, keel } from '../api';
import { Loaded, useAsync } from '../components/async';
import { LineChart, type Series } from '../components/chart';
import { Badge, time, value } from '../components/format';
import { href } from '../router';
import type { ServiceFigures } from '../types';

interface FeatureReport {
  name: string;
  type: string;
  status: string;
  rows: number;
  missingShare: number | null;
  psi: number | null;
  test: { name: string; score: number; threshold: number; drifted: boolean } | null;
}
interface VersionReport {
  version: string;
  rows: number;
  features: FeatureReport[];
  prediction: {
    status: string;
    mean: number | null;
    ks: { statistic: number; pValue: number } | null;
  } | null;
  performance: {
    status: string;
    metric: string;
    value: number | null;
    baseline: number | null;
    labelled: number;
  } | null;
  service: ServiceFigures | null;
}
interface MonitorRun {
  id: number;
  model: string;
  window: { start: number; end: number };
  status: string;
  rows: number;
  versions: VersionReport[];
  breaches: { subject: string; version: string; detail: string }[];
}
interface AlertEvidence {
  value: number | null;
  threshold: number;
  detail: string;
}
interface Alert {
  id: number;
  model: string;
  version: string;
  rule: string;
  subject: string;
  status: string;
  startedAt: number;
  resolvedAt: number | null;
  evidence: AlertEvidence;
  latest: AlertEvidence;
}
interface Retraining {
  id: number;
  model: string;
  status: string;
  cause: string;
  reason: string;
  startedAt: number;
  finishedAt: number | null;
  requestedBy: string;
  error: string | null;
  result: { version?: string; promotion?: { stage: string; status: string } };
}

export function MonitoringPage() {
  const latest = useAsync(() => api<{ runs: MonitorRun[] }>(keel('monitoring/runs/latest')), []);
  return (
    <>
      <h1>Monitoring</h1>
      <Loaded state={latest}>
        {({ runs }) =>
          runs.length === 0 ? (
            <p>No monitor has run yet (keel monitor run MODEL, or the schedules of keel serve).</p>
          ) : (
            <table class="striped">
              <caption>Latest window per model</caption>
              <thead>
                <tr>
                  <th scope="col">Model</th>
                  <th scope="col">Window</th>
                  <th scope="col">Status</th>
                  <th scope="col">Rows</th>
                  <th scope="col">Breaches</th>
                </tr>
              </thead>
              <tbody>
                {runs.map((r) => (
                  <tr key={r.id}>
                    <td>
                      <a href={href('monitoring', r.model)}>{r.model}</a>
                    </td>
                    <td>
                      {time(r.window.start)} to {time(r.window.end)}
                    </td>
                    <td>{r.status}</td>
                    <td>{r.rows}</td>
                    <td>
                      <Badge kind={r.breaches.length ? 'bad' : 'ok'}>{r.breaches.length}</Badge>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )
        }
      </Loaded>
    </>
  );
}

/** One series per version of a figure over the windows (oldest first), skipping windows without it. */
function perVersion(
  runs: MonitorRun[],
  label: string,
  pick: (v: VersionReport) => number | null | undefined,
): Series[] {
  const versions = [...new Set(runs.flatMap((r) => r.versions.map((v) => v.version)))];
  return versions.flatMap((version) => {
    const points = runs.flatMap((r) => {
      const v = r.versions.find((x) => x.version === version);
      const y = v ? pick(v) : undefined;
      return y === null || y === undefined || !Number.isFinite(y) ? [] : [[r.window.end / 1000, y] as const];
    });
    return points.length
      ? [{ label: `${label} v${version}`, xs: points.map((p) => p[0]), ys: points.map((p) => p[1]) }]
      : [];
  });
}

function DriftTable({ run }: { run: MonitorRun }) {
  return (
    <div class="overflow-auto">
      <table class="striped drift">
        <caption>Drift in the window ending {time(run.window.end)}</caption>
        <thead>
          <tr>
            <th scope="col">Version</th>
            <th scope="col">Feature</th>
            <th scope="col">Test</th>
            <th scope="col">Statistic</th>
            <th scope="col">Threshold</th>
            <th scope="col">PSI</th>
            <th scope="col">Missing</th>
            <th scope="col">Verdict</th>
          </tr>
        </thead>
        <tbody>
          {run.versions.flatMap((v) =>
            v.features.map((f) => (
              <tr key={`${v.version}${f.name}`}>
                <td>{v.version}</td>
                <th scope="row">{f.name}</th>
                <td>{f.test?.name ?? f.status}</td>
                <td>{f.test ? value(f.test.score) : ''}</td>
                <td>{f.test ? value(f.test.threshold) : ''}</td>
                <td>{f.psi === null ? '' : value(f.psi)}</td>
                <td>{f.missingShare === null ? '' : `${(f.missingShare * 100).toFixed(1)}%`}</td>
                <td>
                  {f.test ? (
                    <Badge kind={f.test.drifted ? 'bad' : 'ok'}>
                      {f.test.drifted ? 'drift' : 'no drift'}
                    </Badge>
                  ) : (
                    ''
                  )}
                </td>
              </tr>
            )),
          )}
        </tbody>
      </table>
    </div>
  );
}

export function ModelMonitoring({ model }: { model: string }) {
  const data = useAsync(
    () =>
      Promise.all([
        api<{ runs: MonitorRun[] }>(keel('monitoring/runs'), { query: { model, max_results: 500 } }),
        api<{ alerts: Alert[] }>(keel('monitoring/alerts'), { query: { model, status: 'all' } }),
        api<{ retrainings: Retraining[] }>(keel('retrain/history'), { query: { model } }),
      ]),
    [model],
  );
  return (
    <>
      <p>
        <a href={href('monitoring')}>Monitoring</a> /
      </p>
      <h1>{model}</h1>
      <Loaded state={data}>
        {([{ runs: newestFirst }, { alerts }, { retrainings }]) => {
          const runs = [...newestFirst].reverse().filter((r) => r.status !== 'no_data');
          const last = newestFirst.find((r) => r.status !== 'no_data');
          const features = [
            ...new Set(runs.flatMap((r) => r.versions.flatMap((v) => v.features.map((f) => f.name)))),
          ];
          const metric = runs.flatMap((r) => r.versions.map((v) => v.performance?.metric)).find(Boolean);
          const service = runs.some((r) => r.versions.some((v) => v.service && v.service.requests > 0));
          const chart = (title: string, series: Series[]) =>
            series.length ? (
              <LineChart key={title} title={title} xLabel="window end" time series={series} />
            ) : null;
          return (
            <>
              <p>
                {runs.length} windows with data, {alerts.filter((a) => a.status === 'firing').length} alerts
                firing.
              </p>
              <section aria-labelledby="drift">
                <h2 id="drift">Feature drift</h2>
                {last && <DriftTable run={last} />}
                <div class="charts">
                  {features.map((f) =>
                    chart(`Drift of ${f}`, [
                      ...perVersion(
                        runs,
                        `${f} statistic`,
                        (v) => v.features.find((x) => x.name === f)?.test?.score,
                      ),
                      ...perVersion(
                        runs,
                        'threshold',
                        (v) => v.features.find((x) => x.name === f)?.test?.threshold,
                      ),
                    ]),
                  )}
                </div>
              </section>
              <section aria-labelledby="prediction">
                <h2 id="prediction">Predictions and performance</h2>
                <div class="charts">
                  {chart(
                    'Prediction drift (KS statistic)',
                    perVersion(runs, 'KS', (v) => v.prediction?.ks?.statistic),
                  )}
                  {chart(
                    'Mean score',
                    perVersion(runs, 'mean', (v) => v.prediction?.mean),
                  )}
                  {chart(
                    `Realised performance (${metric ?? 'no labels yet'})`,
                    perVersion(runs, metric ?? 'metric', (v) => v.performance?.value),
                  )}
                </div>
              </section>
              <section aria-labelledby="service">
                <h2 id="service">Service</h2>
                {!service && <p>No requests counted: keel serve counts them for the models it serves.</p>}
                <div class="charts">
                  {chart('Latency (ms)', [
                    ...perVersion(runs, 'p50', (v) => v.service?.p50Ms),
                    ...perVersion(runs, 'p95', (v) => v.service?.p95Ms),
                    ...perVersion(runs, 'p99', (v) => v.service?.p99Ms),
                  ])}
                  {chart(
                    'Throughput (requests/s)',
                    perVersion(runs, 'rps', (v) => v.service?.throughput),
                  )}
                  {chart(
                    'Error rate',
                    perVersion(runs, 'errors', (v) => v.service?.errorRate),
                  )}
                </div>
              </section>
              <section aria-labelledby="alerts">
                <h2 id="alerts">Alerts</h2>
                {alerts.length === 0 ? (
                  <p>No alerts.</p>
                ) : (
                  <table class="striped">
                    <caption>Open and resolved alerts</caption>
                    <thead>
                      <tr>
                        <th scope="col">Status</th>
                        <th scope="col">Rule</th>
                        <th scope="col">Subject</th>
                        <th scope="col">Version</th>
                        <th scope="col">Fired</th>
                        <th scope="col">Resolved</th>
                        <th scope="col">Detail</th>
                      </tr>
                    </thead>
                    <tbody>
                      {alerts.map((a) => (
                        <tr key={a.id}>
                          <td>
                            <Badge kind={a.status === 'firing' ? 'bad' : 'ok'}>{a.status}</Badge>
                          </td>
                          <td>{a.rule}</td>
                          <td>{a.subject}</td>
                          <td>{a.version}</td>
                          <td>{time(a.startedAt)}</td>
                          <td>{time(a.resolvedAt ?? undefined)}</td>
                          <td>{a.evidence.detail}</td>
                        </tr>
                      ))}
                    </tbody>
                  </table>
                )}
              </section>
              <section aria-labelledby="retraining">
                <h2 id="retraining">Retraining history</h2>
                {retrainings.length === 0 ? (
                  <p>No retraining yet.</p>
                ) : (
                  <table class="striped">
                    <caption>Retrainings, newest first</caption>
                    <thead>
                      <tr>
                        <th scope="col">Started</th>
                        <th scope="col">Cause</th>
                        <th scope="col">Reason</th>
                        <th scope="col">By</th>
                        <th scope="col">Status</th>
                        <th scope="col">Outcome</th>
                      </tr>
                    </thead>
                    <tbody>
                      {retrainings.map((r) => (
                        <tr key={r.id}>
                          <td>{time(r.startedAt)}</td>
                          <td>{r.cause}</td>
                          <td>{r.reason}</td>
                          <td>{r.requestedBy}</td>
                          <td>{r.status}</td>
                          <td>
                            {r.error ??
                              [
                                r.result.version && `version ${r.result.version}`,
                                r.result.promotion &&
                                  `${r.result.promotion.stage}: ${r.result.promotion.status}`,
                              ]
                                .filter(Boolean)
                                .join(', ')}
                          </td>
                        </tr>
                      ))}
                    </tbody>
                  </table>
                )}
              </section>
            </>
          );
        }}
      </Loaded>
    </>
  );
}
