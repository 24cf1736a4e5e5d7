/**
 * One run: its attributes, params, metrics with a chart of each metric's full history (step or
 * time axis), its artifacts (text, images and CSV tables shown; any file downloaded) and its
 * inputs and lineage (datasets with digests, commit, lockfile, pipeline lock, feature views).
 */
import { useState } from 'preact/hooks';
import { api, fetchBlob, mlflow, num } from '../api';
import { Loaded, useAsync } from '../components/async';
import { LineChart, type Series } from '../components/chart';
import { duration, KeyValues, time, value } from '../components/format';
import { href } from '../router';
import type { Metric, Run } from '../types';

/** Every point of a metric, page by page (the server pages at 25,000 by default). */
export async function metricHistory(runId: string, key: string): Promise<Metric[]> {
  const points: Metric[] = [];
  let token: string | undefined;
  do {
    const page = await api<{ metrics?: Metric[]; next_page_token?: string }>(mlflow('metrics/get-history'), {
      query: { run_id: runId, metric_key: key, max_results: 100000, page_token: token },
    });
    points.push(...(page.metrics ?? []));
    token = page.next_page_token;
  } while (token);
  return points;
}

export function toSeries(label: string, points: Metric[], axis: 'step' | 'time'): Series {
  const sorted = [...points].sort((a, b) => (axis === 'step' ? a.step - b.step : a.timestamp - b.timestamp));
  const xs = new Float64Array(sorted.length);
  const ys = new Float64Array(sorted.length);
  sorted.forEach((p, i) => {
    xs[i] = axis === 'step' ? Number(p.step) : Number(p.timestamp) / 1000;
    ys[i] = num(p.value);
  });
  return { label, xs, ys };
}

function MetricChart({ runId, metric, axis }: { runId: string; metric: string; axis: 'step' | 'time' }) {
  const history = useAsync(() => metricHistory(runId, metric), [runId, metric]);
  return (
    <Loaded state={history}>
      {(points) =>
        points.length > 1 ? (
          <LineChart
            title={metric}
            xLabel={axis}
            time={axis === 'time'}
            series={[toSeries(metric, points, axis)]}
          />
        ) : null
      }
    </Loaded>
  );
}

const artifactUrl = (run: Run, path: string) => {
  // Runs keep artifacts under `mlflow-artifacts:/<path>`, which the artifact proxy serves.
  const root = (run.info.artifact_uri ?? '').replace(/^mlflow-artifacts:\/*/, '');
  return `/api/2.0/mlflow-artifacts/artifacts/${[root, path].filter(Boolean).join('/')}`;
};

function csvTable(text: string) {
  const rows = text
    .trim()
    .split(/\r?\n/)
    .slice(0, 51)
    .map((l) => l.split(','));
  return (
    <div class="overflow-auto">
      <table class="striped">
        <thead>
          <tr>
            {rows[0].map((h, i) => (
              <th scope="col" key={i}>
                {h}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.slice(1).map((r, i) => (
            <tr key={i}>
              {r.map((c, j) => (
                <td key={j}>{c}</td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function ArtifactView({ run, path }: { run: Run; path: string }) {
  const file = useAsync(async () => {
    const blob = await fetchBlob(artifactUrl(run, path));
    const url = URL.createObjectURL(blob);
    const image = /\.(png|jpe?g|gif|svg|webp)$/i.test(path);
    const text = !image && blob.size < 1_000_000 ? await blob.text() : undefined;
    return { url, image, text, size: blob.size };
  }, [run.info.run_id, path]);
  const name = path.split('/').pop() ?? path;
  return (
    <Loaded state={file}>
      {(f) => (
        <article>
          <header>
            <strong>{path}</strong> ({f.size} bytes){' '}
            <a href={f.url} download={name}>
              Download {name}
            </a>
          </header>
          {f.image ? (
            <img src={f.url} alt={path} />
          ) : f.text === undefined ? (
            <p>Binary file.</p>
          ) : /\.csv$/i.test(path) ? (
            csvTable(f.text)
          ) : /[\0]/.test(f.text.slice(0, 1000)) ? (
            <p>Binary file.</p>
          ) : (
            <pre>{f.text.slice(0, 100_000)}</pre>
          )}
        </article>
      )}
    </Loaded>
  );
}

function Artifacts({ run }: { run: Run }) {
  const [dir, setDir] = useState('');
  const [open, setOpen] = useState<string>();
  const listing = useAsync(
    () =>
      api<{ files?: { path: string; is_dir: boolean; file_size?: number }[] }>(mlflow('artifacts/list'), {
        query: { run_id: run.info.run_id, path: dir || undefined },
      }),
    [run.info.run_id, dir],
  );
  return (
    <section aria-labelledby="artifacts">
      <h2 id="artifacts">Artifacts</h2>
      <p>
        Folder: <code>/{dir}</code>{' '}
        {dir && (
          <button
            type="button"
            class="secondary outline small"
            onClick={() => setDir(dir.split('/').slice(0, -1).join('/'))}
          >
            Up
          </button>
        )}
      </p>
      <Loaded state={listing}>
        {(l) =>
          (l.files ?? []).length === 0 ? (
            <p>No artifacts here.</p>
          ) : (
            <ul class="files">
              {(l.files ?? []).map((f) => (
                <li key={f.path}>
                  <button
                    type="button"
                    class="link"
                    onClick={() => (f.is_dir ? setDir(f.path) : setOpen(f.path))}
                  >
                    {f.is_dir ? `${f.path.split('/').pop()}/` : f.path.split('/').pop()}
                  </button>{' '}
                  {f.file_size !== undefined && <small>{f.file_size} bytes</small>}
                </li>
              ))}
            </ul>
          )
        }
      </Loaded>
      {open && <ArtifactView run={run} path={open} />}
    </section>
  );
}

const LINEAGE_TAGS: [string, string][] = [
  ['mlflow.source.git.commit', 'Commit'],
  ['keel.env.lockfile_sha', 'Lockfile'],
  ['keel.pipeline.lock_sha', 'Pipeline lock'],
  ['keel.pipeline.file', 'Pipeline'],
  ['keel.features.views', 'Feature views'],
  ['keel.env.node', 'Node'],
];

export function RunPage({ runId }: { runId: string }) {
  const run = useAsync(() => api<{ run: Run }>(mlflow('runs/get'), { query: { run_id: runId } }), [runId]);
  const [axis, setAxis] = useState<'step' | 'time'>('step');
  return (
    <Loaded state={run}>
      {({ run: r }) => {
        const tags = r.data.tags;
        const lineage = LINEAGE_TAGS.flatMap(([key, label]) => {
          const v = tags.find((t) => t.key === key)?.value;
          return v === undefined
            ? []
            : [[label, <code key={key}>{v}</code>] as [string, preact.ComponentChildren]];
        });
        return (
          <>
            <p>
              <a href={href('runs', { exp: r.info.experiment_id })}>Runs</a> /
            </p>
            <h1>{r.info.run_name || r.info.run_id}</h1>
            <KeyValues
              caption="Run"
              rows={[
                ['Run ID', <code key="id">{r.info.run_id}</code>],
                ['Status', r.info.status],
                ['Started', time(r.info.start_time)],
                ['Duration', duration(r.info.start_time, r.info.end_time)],
                ['User', r.info.user_id ?? ''],
                ['Artifacts', <code key="a">{r.info.artifact_uri}</code>],
              ]}
            />
            <div class="grid">
              <KeyValues caption="Parameters" rows={r.data.params.map((p) => [p.key, p.value])} />
              <KeyValues
                caption="Metrics (latest)"
                rows={r.data.metrics.map((m) => [m.key, value(num(m.value))])}
              />
            </div>
            <section aria-labelledby="charts">
              <h2 id="charts">Metric history</h2>
              <fieldset>
                <legend>X axis</legend>
                <label>
                  <input
                    type="radio"
                    name="axis"
                    checked={axis === 'step'}
                    onChange={() => setAxis('step')}
                  />{' '}
                  Step
                </label>
                <label>
                  <input
                    type="radio"
                    name="axis"
                    checked={axis === 'time'}
                    onChange={() => setAxis('time')}
                  />{' '}
                  Time
                </label>
              </fieldset>
              <div class="charts">
                {r.data.metrics.map((m) => (
                  <MetricChart key={m.key} runId={r.info.run_id} metric={m.key} axis={axis} />
                ))}
              </div>
            </section>
            <section aria-labelledby="inputs">
              <h2 id="inputs">Inputs and lineage</h2>
              <KeyValues caption="Lineage" rows={lineage} />
              {(r.inputs?.dataset_inputs ?? []).length > 0 && (
                <table class="striped">
                  <caption>Datasets</caption>
                  <thead>
                    <tr>
                      <th scope="col">Name</th>
                      <th scope="col">Digest</th>
                      <th scope="col">Source</th>
                      <th scope="col">Context</th>
                    </tr>
                  </thead>
                  <tbody>
                    {(r.inputs?.dataset_inputs ?? []).map((d) => (
                      <tr key={`${d.dataset.name}${d.dataset.digest}`}>
                        <td>{d.dataset.name}</td>
                        <td>
                          <code>{d.dataset.digest}</code>
                        </td>
                        <td>{d.dataset.source_type}</td>
                        <td>{d.tags?.map((t) => `${t.key}=${t.value}`).join(', ')}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              )}
              <KeyValues
                caption="Tags"
                rows={tags.filter((t) => !t.key.startsWith('mlflow.log-model')).map((t) => [t.key, t.value])}
              />
            </section>
            <Artifacts run={r} />
          </>
        );
      }}
    </Loaded>
  );
}
