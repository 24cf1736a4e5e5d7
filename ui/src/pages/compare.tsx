/**
 * 2-10 runs side by side: their params and latest metrics (rows that differ marked), one metric's
 * full history overlaid, and parallel coordinates over the numeric params and metrics.
 */
import { useState } from 'preact/hooks';
import { api, mlflow, num } from '../api';
import { ErrorBox, Loaded, useAsync } from '../components/async';
import { LineChart } from '../components/chart';
import { value } from '../components/format';
import { ParallelCoordinates } from '../components/parallel';
import { href } from '../router';
import type { Run } from '../types';
import { metricHistory, toSeries } from './run';

const nameOf = (r: Run) => r.info.run_name || r.info.run_id.slice(0, 8);

function Overlay({ runs, metric }: { runs: Run[]; metric: string }) {
  // The answer names its metric: while another metric loads, the chart keeps its own title.
  const histories = useAsync(
    async () => ({
      metric,
      series: await Promise.all(
        runs.map(async (r) => toSeries(nameOf(r), await metricHistory(r.info.run_id, metric), 'step')),
      ),
    }),
    [runs, metric],
  );
  return (
    <Loaded state={histories}>
      {(h) => <LineChart title={`${h.metric} by step`} xLabel="step" series={h.series} />}
    </Loaded>
  );
}

function Side({
  caption,
  runs,
  keys,
  get,
}: {
  caption: string;
  runs: Run[];
  keys: string[];
  get: (r: Run, k: string) => string;
}) {
  return (
    <div class="overflow-auto">
      <table class="striped compare">
        <caption>{caption}</caption>
        <thead>
          <tr>
            <th scope="col">Key</th>
            {runs.map((r) => (
              <th scope="col" key={r.info.run_id}>
                <a href={href('runs', r.info.run_id)}>{nameOf(r)}</a>
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {keys.map((k) => {
            const values = runs.map((r) => get(r, k));
            const differs = new Set(values).size > 1;
            return (
              <tr key={k} class={differs ? 'differs' : undefined}>
                <th scope="row">
                  {k}
                  {differs && <span class="visually-hidden"> (differs)</span>}
                </th>
                {values.map((v, i) => (
                  <td key={runs[i].info.run_id}>{v}</td>
                ))}
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}

export function CompareRuns({ ids }: { ids: string[] }) {
  const runs = useAsync(
    () =>
      Promise.all(
        ids.map(async (id) => (await api<{ run: Run }>(mlflow('runs/get'), { query: { run_id: id } })).run),
      ),
    [ids.join(',')],
  );
  const [metric, setMetric] = useState<string>();
  if (ids.length < 2 || ids.length > 10)
    return <ErrorBox error={new Error('Pick 2 to 10 runs to compare.')} />;
  return (
    <>
      <h1>Compare {ids.length} runs</h1>
      <Loaded state={runs}>
        {(rs) => {
          const params = [...new Set(rs.flatMap((r) => r.data.params.map((p) => p.key)))].sort();
          const metrics = [...new Set(rs.flatMap((r) => r.data.metrics.map((m) => m.key)))].sort();
          const param = (r: Run, k: string) => r.data.params.find((p) => p.key === k)?.value ?? '';
          const latest = (r: Run, k: string) => {
            const m = r.data.metrics.find((x) => x.key === k);
            return m ? value(num(m.value)) : '';
          };
          const numeric = (r: Run, k: string): number | undefined => {
            const [kind, key] = [k.slice(0, k.indexOf(':')), k.slice(k.indexOf(':') + 1)];
            const raw = kind === 'param' ? param(r, key) : r.data.metrics.find((m) => m.key === key)?.value;
            const v = raw === '' || raw === undefined ? Number.NaN : num(raw);
            return Number.isFinite(v) ? v : undefined;
          };
          const axes = [...params.map((p) => `param:${p}`), ...metrics.map((m) => `metric:${m}`)].filter(
            (a) => rs.every((r) => numeric(r, a) !== undefined),
          );
          const chosen = metric ?? metrics[0];
          return (
            <>
              <Side caption="Parameters" runs={rs} keys={params} get={param} />
              <Side caption="Metrics (latest)" runs={rs} keys={metrics} get={latest} />
              {chosen && (
                <section aria-labelledby="overlay">
                  <h2 id="overlay">Metric history</h2>
                  <label for="overlay-metric">Metric</label>
                  <select
                    id="overlay-metric"
                    value={chosen}
                    onChange={(e) => setMetric(e.currentTarget.value)}
                  >
                    {metrics.map((m) => (
                      <option key={m}>{m}</option>
                    ))}
                  </select>
                  <Overlay runs={rs} metric={chosen} />
                </section>
              )}
              <ParallelCoordinates
                axes={axes.map((a) => a.slice(a.indexOf(':') + 1))}
                lines={rs.map((r) => ({
                  label: nameOf(r),
                  values: Object.fromEntries(axes.map((a) => [a.slice(a.indexOf(':') + 1), numeric(r, a)])),
                }))}
              />
            </>
          );
        }}
      </Loaded>
    </>
  );
}
